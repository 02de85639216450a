import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { breakdownFor } from '../../../testing/aggregateData';
import { mockApi, type MockApi } from '../../../testing/mockApi';
import { renderWithApp } from '../../../testing/render';
import { makeTwin, makeUpdate, sampleTwins } from '../../../testing/sampleData';
import { FLEET_FIELDS } from '../hooks/useFleet';
import { AGGREGATE_PATH } from '../lineBreakdown';
import { FleetPanel } from './FleetPanel';

function rowOf(id: string): HTMLElement {
  const table = screen.getByRole('table', { name: 'Machines' });
  const cell = within(table).getByRole('rowheader', { name: id });
  const row = cell.closest('tr');
  if (!row) throw new Error(`no row for ${id}`);
  return row;
}

const rowIds = () =>
  within(screen.getByRole('table', { name: 'Machines' }))
    .getAllByRole('rowheader')
    .map((cell) => cell.textContent);

function renderFleet(onSelect: (id: string) => void = () => {}) {
  const result = renderWithApp(<FleetPanel selectedId={null} onSelect={onSelect} />);
  act(() => result.stream.snapshot('twins', sampleTwins.items, 'fleet'));
  return result;
}

describe('FleetPanel', () => {
  let api: MockApi;
  beforeEach(() => {
    // The per-line breakdown's endpoint, narrowed by site and line as the backend would.
    api = mockApi({ [`GET ${AGGREGATE_PATH}`]: ({ query }) => breakdownFor(query) });
  });

  it('subscribes to the twins stream with a rate cap and shows the snapshot', async () => {
    const { stream } = renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    expect(screen.getByText('Loading machines…')).toBeInTheDocument();
    expect(stream.find('twins', 'fleet').spec).toEqual({
      sub: 'fleet',
      stream: 'twins',
      max_rate_hz: 2,
      fields: FLEET_FIELDS,
    });
    // The whole fleet without readings; the rows on screen get them (below).
    expect(FLEET_FIELDS).toEqual(expect.arrayContaining(['last_seen', 'status', 'health']));
    expect(FLEET_FIELDS).not.toContain('readings');
    act(() => stream.snapshot('twins', sampleTwins.items, 'fleet'));
    const table = await screen.findByRole('table', { name: 'Machines' });
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 3);
    const pump = rowOf('pump-0001');
    expect(pump).toHaveTextContent('centrifugal pump');
    expect(pump).toHaveTextContent('site-1 / line-1');
    expect(within(pump).getByRole('meter', { name: 'Health' })).toHaveAttribute(
      'aria-valuenow',
      '92',
    );
    expect(
      within(pump).getByRole('list', { name: 'Latest values of pump-0001' }),
    ).toHaveTextContent('temperature 61.3 °C');
  });

  it('asks for the rows on screen in full and marks readings not streaming yet', async () => {
    const { stream } = renderFleet();
    const readingsOf = (id: string) =>
      within(rowOf(id)).getByRole('list', { name: `Latest values of ${id}` });
    // Fresh from the fleet snapshot: nothing is marked.
    expect(readingsOf('conveyor-0003')).not.toHaveClass('readings--catching-up');
    await waitFor(() => expect(stream.subscriptions.has('rows')).toBe(true));
    expect(stream.find('twins', 'rows').spec).toEqual({
      sub: 'rows',
      stream: 'twins',
      filter: { machine_ids: ['compressor-0002', 'conveyor-0003', 'pump-0001'] },
      max_rate_hz: 2,
    });
    // Its snapshot covers two of them (the third is scrolled away meanwhile, say).
    const [pump, compressor] = sampleTwins.items;
    act(() => stream.snapshot('twins', [pump!, compressor!], 'rows'));
    expect(readingsOf('conveyor-0003')).toHaveClass('readings--catching-up');
    expect(readingsOf('pump-0001')).not.toHaveClass('readings--catching-up');
    act(() =>
      stream.update(
        'twins',
        [{ kind: 'reported', id: 'pump-0001', version: 99, readings: { temperature_c: 70.04 } }],
        'rows',
      ),
    );
    await waitFor(() => expect(readingsOf('pump-0001')).toHaveTextContent('temperature 70.0 °C'));
  });

  it('shows counts per status and marks offline machines', () => {
    renderFleet();
    const summary = screen.getByRole('group', { name: 'Fleet summary' });
    expect(within(summary).getByRole('button', { name: 'Online: 2' })).toBeInTheDocument();
    expect(within(summary).getByRole('button', { name: 'Offline: 1' })).toBeInTheDocument();
    expect(rowOf('conveyor-0003')).toHaveClass('fleet-row--offline');
    expect(rowOf('conveyor-0003')).toHaveTextContent('offline');
    expect(rowOf('pump-0001')).toHaveTextContent('online');
  });

  it('applies live updates from the subscription', async () => {
    const { stream } = renderFleet();
    act(() =>
      stream.update(
        'twins',
        [
          makeUpdate({ readings: { temperature_c: 72.44 } }),
          { id: 'compressor-0002', kind: 'analytics', health: 12 },
        ],
        'fleet',
      ),
    );
    await waitFor(() => expect(rowOf('pump-0001')).toHaveTextContent('temperature 72.4 °C'));
    expect(within(rowOf('compressor-0002')).getByRole('meter')).toHaveAttribute(
      'aria-valuenow',
      '12',
    );
  });

  it('filters by status, type and id, and sorts by health or anomaly score', async () => {
    const user = userEvent.setup();
    renderFleet();
    await user.selectOptions(screen.getByRole('combobox', { name: 'Sort' }), 'health');
    expect(rowIds()).toEqual(['compressor-0002', 'conveyor-0003', 'pump-0001']);
    await user.selectOptions(screen.getByRole('combobox', { name: 'Sort' }), '-anomaly_score');
    expect(rowIds()).toEqual(['compressor-0002', 'conveyor-0003', 'pump-0001']);

    await user.click(screen.getByRole('button', { name: 'Offline: 1' }));
    await waitFor(() => expect(rowIds()).toEqual(['conveyor-0003']));
    await user.click(screen.getByRole('button', { name: 'Offline: 1' }));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Type' }), 'air_compressor');
    await waitFor(() => expect(rowIds()).toEqual(['compressor-0002']));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Type' }), '');
    await user.type(screen.getByRole('searchbox', { name: 'Search machine id' }), 'pump');
    await waitFor(() => expect(rowIds()).toEqual(['pump-0001']));
    expect(screen.getByText('1 shown')).toBeInTheDocument();
  });

  it('renders only the rows near the viewport of a 10,000-machine fleet', () => {
    const { stream } = renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    const fleet = Array.from({ length: 10_000 }, (_, i) =>
      makeTwin({ id: `m-${String(i).padStart(5, '0')}` }),
    );
    act(() => stream.snapshot('twins', fleet, 'fleet'));
    const table = screen.getByRole('table', { name: 'Machines' });
    expect(table).toHaveAttribute('aria-rowcount', '10001');
    const rendered = within(table).getAllByRole('rowheader');
    expect(rendered.length).toBeLessThan(100);
    expect(rendered[0]).toHaveTextContent('m-00000');
    expect(screen.getByRole('button', { name: 'Online: 10000' })).toBeInTheDocument();
  });

  it('selects a machine on click', async () => {
    const user = userEvent.setup();
    const onSelect = vi.fn();
    renderFleet(onSelect);
    await user.click(within(rowOf('compressor-0002')).getByRole('button'));
    expect(onSelect).toHaveBeenCalledWith('compressor-0002');
  });

  it('shows figures per line for the filters and filters the table to a line picked there', async () => {
    const user = userEvent.setup();
    renderFleet();
    const breakdown = await screen.findByRole('table', { name: 'Fleet per line' });
    const lastQuery = () => Object.fromEntries(api.callsTo('GET', AGGREGATE_PATH).at(-1)!.query);
    expect(lastQuery()).toEqual({
      group_by: 'site,line',
      agg: 'count,avg:health,min:health,count:status=stale,count:status=offline',
    });
    await user.selectOptions(screen.getByRole('combobox', { name: 'Type' }), 'conveyor');
    await waitFor(() => expect(lastQuery()).toMatchObject({ machine_type: 'conveyor' }));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Type' }), '');

    await user.click(
      within(breakdown).getByRole('button', { name: 'Show only site-1 / line-2 in the table' }),
    );
    await waitFor(() => expect(rowIds()).toEqual(['conveyor-0003']));
    expect(screen.getByRole('combobox', { name: 'Site' })).toHaveValue('site-1');
    expect(screen.getByRole('combobox', { name: 'Line' })).toHaveValue('line-2');
    await waitFor(() => expect(lastQuery()).toMatchObject({ site: 'site-1', line: 'line-2' }));
    expect(lastQuery()).not.toHaveProperty('machine_type');
    const picked = await screen.findByRole('button', {
      name: 'Show only site-1 / line-2 in the table',
      pressed: true,
    });
    // Picked again: every line.
    await user.click(picked);
    await waitFor(() => expect(rowIds()).toHaveLength(3));
    expect(screen.getByRole('combobox', { name: 'Site' })).toHaveValue('');
    expect(screen.getByRole('combobox', { name: 'Line' })).toHaveValue('');
  });

  it('shows a subscription error from the server', () => {
    const { stream } = renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    act(() => stream.find('twins', 'fleet').handlers.error?.('Invalid filter', 'site: bad'));
    expect(screen.getByRole('alert')).toHaveTextContent('Live fleet: Invalid filter');
    expect(screen.getByRole('alert')).toHaveTextContent('site: bad');
  });
});
