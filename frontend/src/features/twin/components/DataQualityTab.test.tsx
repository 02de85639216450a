import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { GapsTimelineProps } from './GapsTimeline';
import { mockApi } from '../../../testing/mockApi';
import { makeMachineQuality } from '../../../testing/qualityData';
import { renderWithApp } from '../../../testing/render';
import { DataQualityTab } from './DataQualityTab';

// Plotly does not draw in jsdom: the stand-in shows what the timeline is handed.
vi.mock('./GapsTimeline', () => ({
  default: ({ gaps, start, end }: GapsTimelineProps) => (
    <div data-testid="gaps-timeline">
      {start} – {end}: {gaps.map((g) => `${g.start}+${g.seconds}s`).join(', ')}
    </div>
  ),
}));

const PATH = 'GET /api/v1/twins/pump-0001/data-quality';

describe('Data quality (machine)', () => {
  it('shows the counts per rule, the gaps timeline and the clock offset', async () => {
    const api = mockApi({ [PATH]: makeMachineQuality() });
    renderWithApp(<DataQualityTab machineId="pump-0001" />);

    const rules = await screen.findByRole('table', { name: 'Counts per rule' });
    const row = (name: string) => within(rules).getByRole('row', { name: new RegExp(`^${name}`) });
    expect(row('Physical range')).toHaveTextContent('4');
    expect(row('Gaps')).toHaveTextContent('2');
    // One machine's duplicates are not counted (the database answers per batch).
    expect(row('Duplicates')).toHaveTextContent('fleet only');
    expect(row('Late')).toHaveTextContent('1');

    const timeline = screen.getByRole('figure', { name: 'Gaps timeline' });
    expect(timeline).toHaveTextContent(
      '2 gaps (7 min without data), 2026-11-22 10:00:00 – 2026-11-23 10:00:00 UTC.',
    );
    expect(await within(timeline).findByTestId('gaps-timeline')).toHaveTextContent(
      '2026-11-22T10:00:00Z – 2026-11-23T10:00:00Z: 2026-11-23T06:00:00Z+420s, 2026-11-23T08:00:00Z+30s',
    );
    expect(screen.getByLabelText('Clock offset')).toHaveTextContent(
      'Device clock offset: +0.04 s (device clock behind) — within the 2 s threshold (6 windows, 2026-11-23 09:59:30 UTC)',
    );
    expect(api.calls[0]?.query.get('limit')).toBe('1000');
  });

  it('asks for another window', async () => {
    const user = userEvent.setup();
    const api = mockApi({ [PATH]: makeMachineQuality() });
    renderWithApp(<DataQualityTab machineId="pump-0001" />);
    await screen.findByRole('table', { name: 'Counts per rule' });
    await user.click(screen.getByRole('button', { name: '7 d' }));
    await waitFor(() => expect(api.calls).toHaveLength(2));
    const from = Date.parse(api.calls[1]?.query.get('from') ?? '');
    expect(Math.round((Date.now() - from) / 86_400_000)).toBe(7);
  });

  it('says when there are no gaps, no estimate yet, and when only the first gaps are drawn', async () => {
    mockApi({
      [PATH]: makeMachineQuality({ gaps: [], gap_count: 0, gap_seconds: 0, clock_offset: null }),
    });
    renderWithApp(<DataQualityTab machineId="pump-0001" />);
    const timeline = await screen.findByRole('figure', { name: 'Gaps timeline' });
    expect(timeline).toHaveTextContent('No gaps, 2026-11-22 10:00:00');
    expect(within(timeline).queryByTestId('gaps-timeline')).toBeNull();
    expect(screen.getByLabelText('Clock offset')).toHaveTextContent('no estimate yet');
  });

  it('marks a clock beyond the threshold and a truncated gap list', async () => {
    const quality = makeMachineQuality();
    mockApi({
      [PATH]: {
        ...quality,
        gap_count: 1500,
        clock_offset: { ...quality.clock_offset, offset_s: -41.2, beyond_threshold: true },
      },
    });
    renderWithApp(<DataQualityTab machineId="pump-0001" />);
    expect(await screen.findByLabelText('Clock offset')).toHaveTextContent(
      '−41.2 s (device clock ahead) — beyond the 2 s threshold',
    );
    expect(screen.getByRole('figure', { name: 'Gaps timeline' })).toHaveTextContent(
      '1500 gaps (7 min without data)',
    );
    expect(screen.getByRole('figure', { name: 'Gaps timeline' })).toHaveTextContent(
      'the first 2 drawn',
    );
  });
});
