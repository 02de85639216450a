import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { breakdownFor, sampleBreakdown } from '../../../testing/aggregateData';
import { invalid, mockApi } from '../../../testing/mockApi';
import { renderWithApp } from '../../../testing/render';
import { BREAKDOWN_POLL_MS } from '../api';
import { EMPTY_FILTER, type FleetFilter } from '../fleetView';
import { AGGREGATE_PATH } from '../lineBreakdown';
import { LineBreakdown } from './LineBreakdown';

const AGG = 'count,avg:health,min:health,count:status=stale,count:status=offline';

function renderBreakdown(filter: FleetFilter = EMPTY_FILTER, onPick = vi.fn()) {
  const result = renderWithApp(<LineBreakdown filter={filter} onPick={onPick} />);
  return { ...result, onPick };
}

/** Each body row's cells as text (a meter's text is its number, "—" when there is none). */
async function bodyRows(): Promise<string[][]> {
  const table = await screen.findByRole('table', { name: 'Fleet per line' });
  const [, body] = within(table).getAllByRole('rowgroup');
  return within(body!)
    .getAllByRole('row')
    .map((row) =>
      [...row.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim()),
    );
}

describe('LineBreakdown', () => {
  it('shows machines, health and stale/offline counts per site and line, "—" for none', async () => {
    mockApi({ [`GET ${AGGREGATE_PATH}`]: sampleBreakdown });
    renderBreakdown();
    expect(screen.getByText('Loading per-line figures…')).toBeInTheDocument();
    expect(await bodyRows()).toEqual([
      ['site-1', 'line-1', '1', '92', '92', '0', '0'],
      ['site-1', 'line-2', '1', '67', '67', '0', '1'],
      ['site-1', '—', '2', '56', '48', '1', '0'],
      ['site-2', 'line-2', '1', '41', '41', '0', '0'],
      ['—', '—', '1', '—', '—', '0', '1'],
    ]);
    expect(screen.queryByText('Loading per-line figures…')).not.toBeInTheDocument();
    expect(
      screen.getByRole('meter', { name: 'Average health of site-1 / no line' }),
    ).toHaveAttribute('aria-valuenow', '56');
    // Over every machine shown: the total row.
    const table = screen.getByRole('table', { name: 'Fleet per line' });
    const total = within(table).getByRole('rowheader', { name: 'All shown' }).closest('tr');
    expect(total).toHaveTextContent(/^All shown6624112$/);
  });

  it('asks once for the groups and aggregates with the filters that map onto the API', async () => {
    const api = mockApi({ [`GET ${AGGREGATE_PATH}`]: sampleBreakdown });
    renderBreakdown({
      search: 'pump',
      site: 'site-1',
      line: '',
      machineType: 'centrifugal_pump',
      status: 'stale',
    });
    await screen.findByRole('table', { name: 'Fleet per line' });
    const calls = api.callsTo('GET', AGGREGATE_PATH);
    expect(calls).toHaveLength(1);
    expect(Object.fromEntries(calls[0]!.query)).toEqual({
      group_by: 'site,line',
      agg: AGG,
      site: 'site-1',
      machine_type: 'centrifugal_pump',
      status: 'stale',
    });
    // The id search has no server-side equivalent: not sent, and said.
    expect(screen.getByText('not narrowed by the id search')).toBeInTheDocument();
  });

  it('shows the problem when the figures cannot be loaded', async () => {
    mockApi({
      [`GET ${AGGREGATE_PATH}`]: invalid([
        { loc: ['query', 'agg'], msg: "unknown aggregate 'median'" },
      ]),
    });
    renderBreakdown();
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Per-line figures: Invalid request');
    expect(alert).toHaveTextContent("query.agg: unknown aggregate 'median'");
    expect(alert).not.toHaveTextContent('[object Object]');
    expect(screen.queryByRole('table', { name: 'Fleet per line' })).not.toBeInTheDocument();
    expect(screen.queryByText('Loading per-line figures…')).not.toBeInTheDocument();
  });

  it('picks a line by click or keyboard; lines without a site or line cannot be picked', async () => {
    const user = userEvent.setup();
    mockApi({ [`GET ${AGGREGATE_PATH}`]: sampleBreakdown });
    const { onPick } = renderBreakdown({ ...EMPTY_FILTER, site: 'site-1', line: 'line-2' });
    const table = await screen.findByRole('table', { name: 'Fleet per line' });
    const pick = (place: string) =>
      within(table).queryByRole('button', { name: `Show only ${place} in the table` });
    const rowOf = (place: string) =>
      within(table)
        .getByRole('meter', { name: `Average health of ${place}` })
        .closest('tr')!;
    expect(pick('site-1 / line-2')).toHaveAttribute('aria-pressed', 'true');
    expect(pick('site-1 / line-1')).toHaveAttribute('aria-pressed', 'false');
    expect(pick('site-1 / no line')).toBeNull();
    expect(within(table).queryAllByRole('button', { name: /no (site|line)/ })).toHaveLength(0);

    // Anywhere on the row: here its machine count.
    await user.click(within(rowOf('site-2 / line-2')).getAllByRole('cell')[0]!);
    expect(onPick).toHaveBeenLastCalledWith('site-2', 'line-2');
    pick('site-1 / line-1')?.focus();
    await user.keyboard('{Enter}');
    expect(onPick).toHaveBeenLastCalledWith('site-1', 'line-1');
    await user.click(within(rowOf('site-1 / no line')).getAllByRole('cell')[0]!);
    expect(onPick).toHaveBeenCalledTimes(2);
  });

  it('asks again for new filters, aborting the request of the old ones', async () => {
    const requests: Array<{ url: URL; signal: AbortSignal }> = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (input: string, init: RequestInit) =>
          new Promise<Response>((resolve, reject) => {
            const url = new URL(input, 'http://localhost');
            const signal = init.signal!;
            requests.push({ url, signal });
            signal.addEventListener('abort', () => reject(signal.reason as Error));
            // Only the request of the last filters gets an answer.
            if (url.searchParams.get('site') === 'site-2') {
              resolve(Response.json(breakdownFor(url.searchParams)));
            }
          }),
      ),
    );
    const { rerender, onPick } = renderBreakdown();
    await waitFor(() => expect(requests).toHaveLength(1));
    rerender(<LineBreakdown filter={{ ...EMPTY_FILTER, site: 'site-2' }} onPick={onPick} />);
    await waitFor(() => expect(requests).toHaveLength(2));
    expect(requests[0]!.signal.aborted).toBe(true);
    expect(requests[1]!.url.searchParams.get('site')).toBe('site-2');
    expect(await bodyRows()).toEqual([['site-2', 'line-2', '1', '41', '41', '0', '0']]);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it(`polls every ${BREAKDOWN_POLL_MS / 1000} s while shown and stops when hidden`, async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime.bind(vi) });
      const api = mockApi({ [`GET ${AGGREGATE_PATH}`]: sampleBreakdown });
      renderBreakdown();
      await screen.findByRole('table', { name: 'Fleet per line' });
      const calls = () => api.callsTo('GET', AGGREGATE_PATH).length;
      expect(calls()).toBe(1);
      await act(() => vi.advanceTimersByTimeAsync(BREAKDOWN_POLL_MS - 500));
      expect(calls()).toBe(1);
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(calls()).toBe(2);

      const toggle = screen.getByRole('button', { name: 'Per line' });
      expect(toggle).toHaveAttribute('aria-expanded', 'true');
      await user.click(toggle);
      expect(toggle).toHaveAttribute('aria-expanded', 'false');
      expect(screen.queryByRole('table', { name: 'Fleet per line' })).not.toBeInTheDocument();
      await act(() => vi.advanceTimersByTimeAsync(3 * BREAKDOWN_POLL_MS));
      expect(calls()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
