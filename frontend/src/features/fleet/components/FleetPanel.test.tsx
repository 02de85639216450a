import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockFetch, renderWithApp } from '../../../testing/render';
import { makeTwin, makeUpdate, sampleTwins } from '../../../testing/sampleData';
import { FleetPanel } from './FleetPanel';

function rowOf(id: string): HTMLElement {
  const table = screen.getByRole('table', { name: 'Machines' });
  const cell = within(table).getByRole('rowheader', { name: id });
  const row = cell.closest('tr');
  if (!row) throw new Error(`no row for ${id}`);
  return row;
}

describe('FleetPanel', () => {
  it('lists every machine with its latest values and counts', async () => {
    mockFetch({ '/api/v1/twins': sampleTwins });
    renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);

    const table = await screen.findByRole('table', { name: 'Machines' });
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 3);
    const pump = rowOf('pump-0001');
    expect(pump).toHaveTextContent('pump');
    expect(pump).toHaveTextContent('plant-a / line-1');
    expect(
      within(pump).getByRole('list', { name: 'Latest values of pump-0001' }),
    ).toHaveTextContent('temperature 61.3 °C');
    expect(pump).toHaveTextContent('flow 120 m³/h');

    const summary = screen.getByLabelText('Fleet summary');
    expect(summary).toHaveTextContent('Machines3');
    expect(summary).toHaveTextContent('Stale1');
    expect(summary).toHaveTextContent('1 / 1 / 1');
  });

  it('marks machines not heard from for over 10 s as stale', async () => {
    mockFetch({ '/api/v1/twins': sampleTwins });
    renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    await screen.findByRole('table', { name: 'Machines' });
    expect(rowOf('conveyor-0003')).toHaveTextContent('30 sstale');
    expect(rowOf('pump-0001')).not.toHaveTextContent('stale');
  });

  it('applies live updates from the stream without refetching', async () => {
    const fetchMock = mockFetch({ '/api/v1/twins': sampleTwins });
    const { stream } = renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    await screen.findByRole('table', { name: 'Machines' });

    stream.emit([
      makeUpdate({ readings: { temperature_c: 72.44 }, quality: 'uncertain' }),
      makeUpdate({
        id: 'conveyor-0003',
        machine_type: 'conveyor',
        site: null,
        line: null,
        readings: { speed_rpm: 1500 },
      }),
    ]);

    await waitFor(() => expect(rowOf('pump-0001')).toHaveTextContent('temperature 72.4 °C'));
    expect(rowOf('pump-0001')).toHaveTextContent('uncertain');
    // Other sensors keep their previous values.
    expect(rowOf('pump-0001')).toHaveTextContent('pressure 4.50 bar');
    // The conveyor was stale; its update makes it current again.
    expect(rowOf('conveyor-0003')).toHaveTextContent('speed 1500 rpm');
    expect(rowOf('conveyor-0003')).not.toHaveTextContent('stale');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('adds a machine that appears only on the stream', async () => {
    mockFetch({ '/api/v1/twins': sampleTwins });
    const { stream } = renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    await screen.findByRole('table', { name: 'Machines' });
    stream.emit([makeUpdate({ id: 'pump-0100' })]);
    await waitFor(() => expect(rowOf('pump-0100')).toBeInTheDocument());
    expect(screen.getByLabelText('Fleet summary')).toHaveTextContent('Machines4');
  });

  it('selects a machine on click and filters by text', async () => {
    const user = userEvent.setup();
    const onSelect = vi.fn();
    mockFetch({ '/api/v1/twins': sampleTwins });
    renderWithApp(<FleetPanel selectedId="compressor-0002" onSelect={onSelect} />);
    await screen.findByRole('table', { name: 'Machines' });

    expect(rowOf('compressor-0002')).toHaveAttribute('aria-current', 'true');
    await user.click(screen.getByRole('button', { name: 'pump-0001' }));
    expect(onSelect).toHaveBeenCalledExactlyOnceWith('pump-0001');

    await user.type(screen.getByRole('searchbox', { name: 'Filter machines' }), 'conv');
    await waitFor(() =>
      expect(within(screen.getByRole('table')).getAllByRole('row')).toHaveLength(2),
    );
  });

  it('shows problem details when the list cannot be loaded', async () => {
    mockFetch({});
    renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load machines: Not Found');
    expect(alert).toHaveTextContent('No route /api/v1/twins');
  });

  it('renders only the rows near the viewport of a large fleet', async () => {
    const items = Array.from({ length: 1000 }, (_, i) =>
      makeTwin({ id: `pump-${String(i).padStart(4, '0')}` }),
    );
    mockFetch({ '/api/v1/twins': { items, count: items.length } });
    renderWithApp(<FleetPanel selectedId={null} onSelect={() => {}} />);
    const table = await screen.findByRole('table', { name: 'Machines' });
    expect(table).toHaveAttribute('aria-rowcount', '1001');
    const rendered = within(table).getAllByRole('rowheader');
    expect(rendered.length).toBeGreaterThan(10);
    expect(rendered.length).toBeLessThan(100);
    expect(screen.getByLabelText('Fleet summary')).toHaveTextContent('Machines1000');
  });
});
