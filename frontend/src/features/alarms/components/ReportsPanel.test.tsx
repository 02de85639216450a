import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockApi } from '../../../testing/mockApi';
import { renderWithApp } from '../../../testing/render';
import type { AlarmReports } from '../types';
import { ReportsPanel } from './ReportsPanel';

// Plotly does not draw in jsdom: the stand-in shows what the chart is handed.
vi.mock('./FloodChart', () => ({
  default: ({ report }: { report: AlarmReports }) => (
    <div data-testid="flood-chart">{report.flood.windows.length} windows</div>
  ),
}));

const REPORT: AlarmReports = {
  start: '2026-11-22T10:00:00Z',
  end: '2026-11-23T10:00:00Z',
  raised: 31,
  flood: {
    threshold: 10,
    window_s: 600,
    windows: [
      { site: 'site-1', start: '2026-11-23T09:00:00Z', alarms: 14, flood: true },
      { site: 'site-1', start: '2026-11-23T09:10:00Z', alarms: 3, flood: false },
      { site: 'site-2', start: '2026-11-23T09:00:00Z', alarms: 2, flood: false },
    ],
    flood_windows: 1,
    percent_time_in_flood: 0.69,
  },
  frequent: [
    { machine_id: 'pump-0001', condition: 'hi:temperature_c', count: 12 },
    { machine_id: 'motor-0004', condition: 'anomaly', count: 4 },
  ],
  chattering: [
    { machine_id: 'pump-0001', condition: 'hi:temperature_c', activations: 12, max_in_60s: 5 },
  ],
};

describe('Flood and chattering', () => {
  it('shows the flood figures, the chart, the most frequent and the chattering alarms', async () => {
    const user = userEvent.setup();
    const api = mockApi({ 'GET /api/v1/alarms/reports': REPORT });
    renderWithApp(<ReportsPanel />);
    const figures = await screen.findByLabelText('Flood figures');
    expect(figures).toHaveTextContent('Flood windows1');
    expect(figures).toHaveTextContent('Time in flood0.7 %');
    expect(await screen.findByTestId('flood-chart')).toHaveTextContent('3 windows'); // lazy: loads after
    expect(screen.getByRole('figure', { name: 'Alarms per 10 minutes' })).toHaveTextContent(
      'More than 10 in a window is a flood',
    );
    const frequent = screen.getByRole('table', { name: 'Most frequent alarms' });
    expect(within(frequent).getAllByRole('row')).toHaveLength(3);
    const chattering = screen.getByRole('table', { name: 'Chattering alarms' });
    expect(chattering).toHaveTextContent('pump-0001hi:temperature_c125');
    expect(api.calls[0]?.query.get('hours')).toBe('24');

    await user.click(screen.getByRole('button', { name: '7 d' }));
    await waitFor(() => expect(api.calls.at(-1)?.query.get('hours')).toBe('168'));
  });

  it('shows the error when the reports are not available', async () => {
    mockApi({});
    renderWithApp(<ReportsPanel />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load the alarm reports: Not Found',
    );
  });
});
