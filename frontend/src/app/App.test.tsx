import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockFetch, renderWithApp } from '../testing/render';
import {
  makeAnomaly,
  makeHealth,
  makeTwin,
  sampleSeries,
  sampleTwins,
} from '../testing/sampleData';
import { alarmChange, makeAlarm, makeSummary } from '../testing/alarmData';
import { makeFleetQuality, makeMachineQuality } from '../testing/qualityData';
import { makeConsumption, makeHeatmap, makeMeters, makePeaks } from '../testing/energyData';
import { makeReportList } from '../testing/reportData';
import { App } from './App';

vi.mock('../features/twin/components/SensorChart', () => ({
  default: () => <div>plot</div>,
}));
vi.mock('../features/twin/components/GapsTimeline', () => ({
  default: () => <div>gaps timeline</div>,
}));
vi.mock('../features/energy/components/ConsumptionChart', () => ({
  default: () => <div>consumption chart</div>,
}));

describe('App', () => {
  beforeEach(() => {
    mockFetch({
      '/api/v1/twins/pump-0001': makeTwin(),
      '/api/v1/twins/pump-0001/series': sampleSeries(),
      '/api/v1/twins/pump-0001/health': makeHealth(),
      '/api/v1/twins/pump-0001/anomalies': { machine_id: 'pump-0001', items: [] },
    });
  });

  it('shows the title and the connection state', () => {
    const { stream } = renderWithApp(<App />);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(
      'dtwin — plant digital twin',
    );
    expect(screen.getByRole('status', { name: 'Connection' })).toHaveTextContent('Live');
    act(() => stream.setStatus({ state: 'reconnecting', nextRetryAt: stream.now + 4_000 }));
    expect(screen.getByRole('status', { name: 'Connection' })).toHaveTextContent('Reconnecting');
    act(() => stream.setStatus({ state: 'offline' }));
    expect(screen.getByRole('status', { name: 'Connection' })).toHaveTextContent('Offline');
    act(() => stream.setStatus({ state: 'denied', lastCloseCode: 4403, nextRetryAt: null }));
    const badge = screen.getByRole('status', { name: 'Connection' });
    expect(badge).toHaveTextContent('Access denied');
    expect(badge).toHaveAttribute('title', expect.stringContaining('not allowed for your role'));
  });

  it('shows who is signed in, with the role, in the header', () => {
    renderWithApp(<App />);
    expect(screen.getByRole('status', { name: 'Signed in as' })).toHaveTextContent('admin · admin');
    expect(screen.getByRole('button', { name: 'Sign out' })).toBeEnabled();
  });

  it('opens the data-quality view and a machine from it on its data-quality tab', async () => {
    const user = userEvent.setup();
    mockFetch({
      '/api/v1/twins/motor-0004': makeTwin({ id: 'motor-0004', machine_type: 'induction_motor' }),
      '/api/v1/twins/motor-0004/health': makeHealth(),
      '/api/v1/data-quality': makeFleetQuality(),
      '/api/v1/twins/motor-0004/data-quality': makeMachineQuality({ machine_id: 'motor-0004' }),
    });
    renderWithApp(<App />);
    const nav = screen.getByRole('navigation', { name: 'Views' });
    await user.click(within(nav).getByRole('button', { name: 'Data quality' }));
    expect(window.location.search).toBe('?view=quality');
    expect(within(nav).getByRole('button', { name: 'Data quality' })).toHaveAttribute(
      'aria-current',
      'page',
    );
    const machines = await screen.findByRole('table', { name: 'Machines with the most issues' });
    await user.click(within(machines).getByRole('button', { name: 'motor-0004' }));
    const panel = await screen.findByRole('region', { name: 'Machine motor-0004' });
    expect(within(panel).getByRole('tab', { name: 'Data quality' })).toHaveAttribute(
      'aria-selected',
      'true',
    );
    expect(await within(panel).findByRole('figure', { name: 'Gaps timeline' })).toHaveTextContent(
      '2 gaps',
    );
  });

  it('opens the Energy view and the Reports page from the navigation', async () => {
    const user = userEvent.setup();
    mockFetch({
      '/api/v1/twins': makeMeters(['plant-a']),
      '/api/v1/energy/consumption': makeConsumption(),
      '/api/v1/energy/peaks': makePeaks(),
      '/api/v1/energy/heatmap': makeHeatmap(),
      '/api/v1/reports': makeReportList(),
    });
    renderWithApp(<App />);
    const nav = screen.getByRole('navigation', { name: 'Views' });
    await user.click(within(nav).getByRole('button', { name: 'Energy' }));
    expect(window.location.search).toBe('?view=energy');
    expect(within(nav).getByRole('button', { name: 'Energy' })).toHaveAttribute(
      'aria-current',
      'page',
    );
    expect(await screen.findByLabelText('Energy totals')).toHaveTextContent('1,235 kWh');
    await user.click(within(nav).getByRole('button', { name: 'Reports' }));
    expect(new URLSearchParams(window.location.search).get('view')).toBe('reports');
    expect(await screen.findByRole('table', { name: 'Report definitions' })).toHaveTextContent(
      'plant-a daily',
    );
  });

  it('selects a machine into the URL and closes it again', async () => {
    const user = userEvent.setup();
    const { stream } = renderWithApp(<App />);
    act(() => stream.snapshot('twins', sampleTwins.items, 'fleet'));
    const table = await screen.findByRole('table', { name: 'Machines' });
    expect(screen.getByText('Select a machine to see its live readings.')).toBeInTheDocument();

    await user.click(within(table).getByRole('button', { name: 'pump-0001' }));
    expect(window.location.search).toBe('?machine=pump-0001');
    expect(await screen.findByRole('region', { name: 'Machine pump-0001' })).toBeInTheDocument();
    expect(await screen.findByRole('figure', { name: 'Sensor chart' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Close machine' }));
    expect(window.location.search).toBe('');
  });

  it('lists live anomalies across the fleet and opens the machine on click', async () => {
    const user = userEvent.setup();
    const { stream } = renderWithApp(<App />);
    act(() => stream.snapshot('alerts', [], 'alerts'));
    await user.click(screen.getByRole('button', { name: 'Anomalies' }));
    expect(window.location.search).toBe('?view=alerts');
    expect(screen.getByText(/No anomaly events yet/)).toBeInTheDocument();

    act(() =>
      stream.update(
        'alerts',
        [makeAnomaly({ id: 7, machine_id: 'pump-0001', score: 0.93 })],
        'alerts',
      ),
    );
    const list = screen.getByRole('list', { name: 'Anomaly events' });
    const event = within(list).getByRole('button', { name: /pump-0001: anomaly start/ });
    expect(event).toHaveTextContent('vibration');
    expect(screen.getByLabelText('1 open')).toBeInTheDocument();
    await user.click(event);
    expect(window.location.search).toBe('?view=alerts&machine=pump-0001');
    expect(await screen.findByRole('region', { name: 'Machine pump-0001' })).toBeInTheDocument();
  });

  it('counts unacknowledged alarms in the header, live, and opens the alarms and their machines', async () => {
    const user = userEvent.setup();
    const alarm = makeAlarm({ id: 1, machine_id: 'pump-0001', priority: 'critical' });
    mockFetch({
      '/api/v1/twins/pump-0001': makeTwin(),
      '/api/v1/twins/pump-0001/series': sampleSeries(),
      '/api/v1/twins/pump-0001/health': makeHealth(),
      '/api/v1/twins/pump-0001/anomalies': { machine_id: 'pump-0001', items: [] },
      '/api/v1/alarms/summary': makeSummary({ unacknowledged: 1, by_priority: { critical: 1 } }),
      '/api/v1/alarms': { items: [alarm], next_cursor: null },
    });
    const { stream } = renderWithApp(<App />);
    act(() => stream.snapshot('alarms', [alarm], 'alarms'));
    const nav = await screen.findByRole('button', { name: 'Alarms, 1 unacknowledged' });
    act(() => stream.update('alarms', [alarmChange(makeAlarm({ id: 2 }), 'raised')], 'alarms'));
    expect(nav).toHaveAccessibleName('Alarms, 2 unacknowledged');
    expect(nav).toHaveTextContent('2');

    await user.click(nav);
    expect(window.location.search).toBe('?view=alarms');
    expect(screen.getByRole('main')).toHaveClass('app__main--wide');
    const table = await screen.findByRole('table', { name: 'Alarms' });
    await user.click((await within(table).findAllByRole('button', { name: 'pump-0001' }))[0]!);
    expect(window.location.search).toBe('?view=alarms&machine=pump-0001');
    expect(await screen.findByRole('region', { name: 'Machine pump-0001' })).toBeInTheDocument();
    expect(screen.getByRole('main')).not.toHaveClass('app__main--wide');
  });

  it('opens the machine named in the URL', async () => {
    window.history.replaceState(null, '', '/?machine=pump-0001');
    renderWithApp(<App />);
    expect(await screen.findByRole('region', { name: 'Machine pump-0001' })).toBeInTheDocument();
  });
});
