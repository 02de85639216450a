import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockApi } from '../../../testing/mockApi';
import { makeFleetQuality } from '../../../testing/qualityData';
import { renderWithApp } from '../../../testing/render';
import { DataQualityPage } from './DataQualityPage';

describe('Data quality (fleet)', () => {
  it('shows the counts per rule, the machines with most issues and the clocks off', async () => {
    const api = mockApi({ 'GET /api/v1/data-quality': makeFleetQuality() });
    renderWithApp(<DataQualityPage selectedMachine={null} onOpenMachine={() => {}} />);

    const rules = await screen.findByRole('table', { name: 'Counts per rule' });
    const row = (name: string) => within(rules).getByRole('row', { name: new RegExp(`^${name}`) });
    expect(row('Physical range')).toHaveTextContent('12');
    expect(row('Gaps')).toHaveTextContent('3');
    expect(row('Gaps')).toHaveTextContent(
      'no message for over 5× the usual interval (at least 10 s)',
    );
    expect(row('Duplicates')).toHaveTextContent('40');
    expect(row('Late')).toHaveTextContent('7');
    expect(row('Late')).toHaveTextContent('over 5 s');
    expect(row('Clock offset')).toHaveTextContent('3,600');

    const figures = screen.getByLabelText('Data-quality figures');
    expect(figures).toHaveTextContent('Machines affected2');
    expect(figures).toHaveTextContent('Gaps3 (7 min)');
    expect(figures).toHaveTextContent('Clocks off1');

    const machines = screen.getByRole('table', { name: 'Machines with the most issues' });
    expect(within(machines).getAllByRole('row')).toHaveLength(3);
    expect(machines).toHaveTextContent('motor-000414Physical range 12 · Gaps 2');
    const clocks = screen.getByRole('table', { name: 'Clocks beyond the threshold' });
    expect(clocks).toHaveTextContent('pump-0003+41.2 s (device clock behind)');

    // The window is the last 24 h by default.
    const from = Date.parse(api.calls[0]?.query.get('from') ?? '');
    expect(Date.now() - from).toBeGreaterThanOrEqual(86_400_000);
    expect(Date.now() - from).toBeLessThan(86_400_000 + 60_000);
    expect(api.calls[0]?.query.get('top')).toBe('10');
  });

  it('asks for another window and keeps it in the URL', async () => {
    const user = userEvent.setup();
    const api = mockApi({ 'GET /api/v1/data-quality': makeFleetQuality() });
    renderWithApp(<DataQualityPage selectedMachine={null} onOpenMachine={() => {}} />);
    await screen.findByRole('table', { name: 'Counts per rule' });
    await user.click(screen.getByRole('button', { name: '30 d' }));
    await waitFor(() => expect(api.calls).toHaveLength(2));
    const from = Date.parse(api.calls[1]?.query.get('from') ?? '');
    expect(Math.round((Date.now() - from) / 86_400_000)).toBe(30);
    expect(window.location.search).toBe('?window=30d');
    expect(screen.getByRole('button', { name: '30 d' })).toHaveAttribute('aria-pressed', 'true');
  });

  it('opens a machine on its data-quality tab', async () => {
    const user = userEvent.setup();
    const opened: string[] = [];
    mockApi({ 'GET /api/v1/data-quality': makeFleetQuality() });
    renderWithApp(
      <DataQualityPage selectedMachine={null} onOpenMachine={(id) => opened.push(id)} />,
    );
    const machines = await screen.findByRole('table', { name: 'Machines with the most issues' });
    await user.click(within(machines).getByRole('button', { name: 'motor-0004' }));
    expect(opened).toEqual(['motor-0004']);
    expect(new URLSearchParams(window.location.search).get('tab')).toBe('quality');
  });

  it('says when nothing was found, and shows problem details on errors', async () => {
    mockApi({
      'GET /api/v1/data-quality': makeFleetQuality({
        counts: { physical_range: 0, gap: 0, duplicate: 0, late: 0, clock_offset: 0 },
        machines_affected: 0,
        top_machines: [],
        gaps: 0,
        gap_seconds: 0,
        clock_offsets: [],
      }),
    });
    renderWithApp(<DataQualityPage selectedMachine={null} onOpenMachine={() => {}} />);
    expect(await screen.findByText('None in this window.')).toBeVisible();
    expect(screen.getByText('None: every device clock is within 2 s.')).toBeVisible();
  });

  it('shows the problem when data quality cannot be loaded', async () => {
    mockApi({});
    renderWithApp(<DataQualityPage selectedMachine={null} onOpenMachine={() => {}} />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load data quality: Not Found',
    );
  });
});
