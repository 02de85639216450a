import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Alarm } from '../../../api/types';
import { signedInSession } from '../../../testing/fakeAuth';
import { FakeRealtime } from '../../../testing/fakeRealtime';
import { alarmChange, makeAlarm, makeSummary } from '../../../testing/alarmData';
import { mockApi } from '../../../testing/mockApi';
import { renderWithApp } from '../../../testing/render';
import { SAMPLE_NOW } from '../../../testing/sampleData';
import { useAlarmFeed } from '../hooks/useAlarmFeed';
import { AlarmNavItem } from './AlarmNavItem';
import { AlarmsPage } from './AlarmsPage';

vi.mock('./FloodChart', () => ({ default: () => <div data-testid="flood-chart" /> }));

const ALARMS: Alarm[] = [
  makeAlarm({ id: 1, machine_id: 'pump-0001', priority: 'low', state: 'unack_active' }),
  makeAlarm({
    id: 2,
    machine_id: 'motor-0002',
    condition: 'hihi:current_a',
    priority: 'critical',
    state: 'ack_active',
    acked_by: 'user:op',
    seq: 2,
  }),
  makeAlarm({
    id: 3,
    machine_id: 'pump-0003',
    condition: 'hi:pressure_bar',
    priority: 'high',
    message: 'pressure_bar 9.4 above hi 9 (pump-0003)',
    value: 9.4,
  }),
];

function Page({ onOpen = () => {} }: { onOpen?: (id: string) => void }) {
  const feed = useAlarmFeed();
  return (
    <>
      <AlarmNavItem feed={feed} current onOpen={() => {}} />
      <AlarmsPage feed={feed} selectedMachine={null} onOpenMachine={onOpen} />
    </>
  );
}

function backend(overrides: Record<string, unknown> = {}) {
  let unacknowledged = 2;
  return mockApi({
    'GET /api/v1/alarms': { items: ALARMS, next_cursor: null },
    'GET /api/v1/alarms/summary': () => makeSummary({ unacknowledged, active: 3 }),
    'POST /api/v1/alarms/1/ack': () => {
      unacknowledged -= 1;
      return makeAlarm({ ...ALARMS[0], seq: 2, state: 'ack_active', acked_by: 'user:admin' });
    },
    ...overrides,
  });
}

function renderPage(role: 'admin' | 'operator' | 'viewer' = 'admin') {
  const stream = new FakeRealtime(SAMPLE_NOW);
  const result = renderWithApp(<Page />, stream, signedInSession(role));
  act(() => stream.snapshot('alarms', [], 'alarms'));
  return result;
}

const table = () => screen.getByRole('table', { name: 'Alarms' });
const machinesInOrder = () =>
  within(table())
    .getAllByRole('row')
    .slice(1)
    .map((row) => row.getAttribute('aria-label')?.split(' ')[2]);
const badge = () => screen.getByRole('button', { name: /^Alarms, \d+ unacknowledged$/ });

describe('Alarms page', () => {
  it('lists open, visible alarms: unacknowledged first, then by priority', async () => {
    const api = backend();
    renderPage();
    await waitFor(() =>
      expect(machinesInOrder()).toEqual(['pump-0003', 'pump-0001', 'motor-0002']),
    );
    const query = api.callsTo('GET', '/api/v1/alarms')[0]?.query;
    expect(query?.getAll('state')).toEqual(['unack_active', 'ack_active', 'unack_cleared']);
    expect(query?.get('hidden')).toBe('false');
    const first = within(table()).getAllByRole('row')[1] as HTMLElement;
    expect(first).toHaveClass('alarm-row--high', 'alarm-row--unack');
    expect(within(first).getByText('pressure_bar 9.4 above hi 9 (pump-0003)')).toBeInTheDocument();
    expect(within(first).getByText('2 min')).toBeInTheDocument(); // raised 09:58, now 10:00
    expect(screen.getByRole('status', { name: 'Alarm feed' })).toHaveTextContent('Live.');
    expect(badge()).toHaveAccessibleName('Alarms, 2 unacknowledged');
  });

  it('shows alarms raised on the stream live, in their place, and counts them in the badge', async () => {
    backend();
    const { stream } = renderPage();
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    await waitFor(() => expect(badge()).toHaveAccessibleName('Alarms, 2 unacknowledged'));
    const critical = makeAlarm({ id: 9, machine_id: 'motor-0006', priority: 'critical' });
    act(() => stream.update('alarms', [alarmChange(critical, 'raised')], 'alarms'));
    expect(machinesInOrder()).toEqual(['motor-0006', 'pump-0003', 'pump-0001', 'motor-0002']);
    expect(badge()).toHaveAccessibleName('Alarms, 3 unacknowledged');
    // Acknowledged elsewhere: it moves down and the badge follows.
    act(() =>
      stream.update(
        'alarms',
        [alarmChange({ ...critical, seq: 2, state: 'ack_active' }, 'acknowledged')],
        'alarms',
      ),
    );
    expect(machinesInOrder()).toEqual(['pump-0003', 'pump-0001', 'motor-0006', 'motor-0002']);
    expect(badge()).toHaveAccessibleName('Alarms, 2 unacknowledged');
  });

  it('acknowledges one alarm from its row: the row and the badge change at once', async () => {
    const user = userEvent.setup();
    const api = backend();
    renderPage('operator');
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    await waitFor(() => expect(badge()).toHaveAccessibleName('Alarms, 2 unacknowledged'));
    await user.click(screen.getByRole('button', { name: 'Acknowledge alarm 1' }));
    await waitFor(() => expect(badge()).toHaveAccessibleName('Alarms, 1 unacknowledged'));
    expect(api.callsTo('POST', '/api/v1/alarms/1/ack')[0]?.body).toEqual({});
    const row = screen.getByRole('row', { name: /Alarm 1:/ });
    expect(within(row).getByText('Acknowledged')).toBeInTheDocument();
    expect(within(row).queryByRole('button', { name: 'Acknowledge alarm 1' })).toBeNull();
  });

  it('acknowledges the selected alarms together with one comment', async () => {
    const user = userEvent.setup();
    const api = backend({
      'POST /api/v1/alarms/ack': { acknowledged: [1], skipped: { 3: 'already acknowledged' } },
    });
    renderPage();
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    const bulk = screen.getByRole('button', { name: /^Acknowledge selected/ });
    expect(bulk).toBeDisabled();
    await user.click(screen.getByRole('checkbox', { name: 'Select all unacknowledged' }));
    expect(screen.getByRole('checkbox', { name: 'Select alarm 2' })).toBeDisabled(); // acknowledged
    await user.click(screen.getByRole('button', { name: 'Acknowledge selected (2)' }));
    const dialog = screen.getByRole('dialog', { name: 'Acknowledge 2 alarms' });
    await user.type(within(dialog).getByRole('textbox'), 'pumps checked on the round');
    await user.click(within(dialog).getByRole('button', { name: 'Acknowledge' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(api.callsTo('POST', '/api/v1/alarms/ack')[0]?.body).toEqual({
      ids: [3, 1],
      comment: 'pumps checked on the round',
    });
    expect(screen.getByRole('status', { name: 'Last action' })).toHaveTextContent(
      'Acknowledged 1 alarm; skipped 1 (3: already acknowledged).',
    );
  });

  it('shelves with a duration and a required reason, and offers unshelving a shelved alarm', async () => {
    const user = userEvent.setup();
    const shelved = makeAlarm({ ...ALARMS[2], seq: 2, shelved_until: '2099-01-01T00:00:00Z' });
    const api = backend({ 'POST /api/v1/alarms/3/shelve': shelved });
    renderPage();
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    await user.click(screen.getByRole('button', { name: 'Shelve alarm 3' }));
    const dialog = screen.getByRole('dialog', { name: 'Shelve alarm' });
    await user.click(within(dialog).getByRole('button', { name: 'Shelve' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent('Shelving needs a reason.');
    expect(api.callsTo('POST', '/api/v1/alarms/3/shelve')).toHaveLength(0);
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'For' }), '4 hours');
    await user.type(
      within(dialog).getByRole('textbox', { name: 'Reason' }),
      'sensor being replaced',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Shelve' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(api.callsTo('POST', '/api/v1/alarms/3/shelve')[0]?.body).toEqual({
      duration_s: 4 * 3600,
      reason: 'sensor being replaced',
    });
    // Shelved alarms leave the default list; the toggle shows them, with Unshelve.
    await waitFor(() => expect(machinesInOrder()).not.toContain('pump-0003'));
    await user.click(screen.getByRole('checkbox', { name: 'Show shelved & suppressed' }));
    expect(await screen.findByRole('button', { name: 'Unshelve alarm 3' })).toBeEnabled();
  });

  it('shows the error of a refused action', async () => {
    const user = userEvent.setup();
    backend({
      'POST /api/v1/alarms/1/ack': [
        409,
        { type: 'about:blank', title: 'Conflict', status: 409, detail: 'already acknowledged' },
      ],
    });
    renderPage();
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    await user.click(screen.getByRole('button', { name: 'Acknowledge alarm 1' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not acknowledge alarm 1: Conflict',
    );
  });

  it('lets a viewer read and filter but not act: actions are disabled with the reason', async () => {
    const user = userEvent.setup();
    const api = backend();
    renderPage('viewer');
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    for (const name of ['Acknowledge alarm 1', 'Shelve alarm 1', 'Comment on alarm 1']) {
      const button = screen.getByRole('button', { name });
      expect(button).toBeDisabled();
      expect(button).toHaveAttribute('title', 'Needs the operator role');
    }
    expect(screen.getByRole('button', { name: /^Acknowledge selected/ })).toBeDisabled();
    // History is for everyone.
    await user.click(screen.getByRole('button', { name: 'History of alarm 1' }));
    expect(api.callsTo('GET', '/api/v1/alarms/1')).toHaveLength(1);
    // Filters go to the server and apply to what the stream brings.
    await user.click(screen.getByRole('checkbox', { name: 'critical' }));
    await waitFor(() => expect(machinesInOrder()).toEqual(['motor-0002']));
    expect(api.calls.at(-1)?.query.getAll('priority')).toEqual(['critical']);
  });

  it('falls back to polling when the stream refuses the subscription', async () => {
    backend();
    const { stream } = renderPage();
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    act(() => stream.find('alarms', 'alarms').handlers.error?.('Unknown stream', 'alarms'));
    expect(screen.getByRole('status', { name: 'Alarm feed' })).toHaveTextContent(
      'Not live: polling every 5 s (Unknown stream: alarms).',
    );
  });

  it('shows a comment dialog and the history of an alarm', async () => {
    const user = userEvent.setup();
    const api = backend({
      'POST /api/v1/alarms/1/comment': makeAlarm({ ...ALARMS[0], seq: 2 }),
      'GET /api/v1/alarms/1': {
        ...makeAlarm({ ...ALARMS[0], seq: 2 }),
        history: [
          {
            seq: 1,
            ts: '2026-11-23T09:58:00Z',
            kind: 'raised',
            state: 'unack_active',
            actor: 'system',
            comment: null,
            details: {},
          },
          {
            seq: 2,
            ts: '2026-11-23T09:59:00Z',
            kind: 'commented',
            state: 'unack_active',
            actor: 'user:admin',
            comment: 'looking into it',
            details: {},
          },
        ],
      },
    });
    renderPage();
    await waitFor(() => expect(machinesInOrder()).toHaveLength(3));
    await user.click(screen.getByRole('button', { name: 'Comment on alarm 1' }));
    const dialog = screen.getByRole('dialog', { name: 'Comment on alarm 1' });
    await user.type(within(dialog).getByRole('textbox'), 'looking into it');
    await user.click(within(dialog).getByRole('button', { name: 'Add comment' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(api.callsTo('POST', '/api/v1/alarms/1/comment')[0]?.body).toEqual({
      comment: 'looking into it',
    });
    await user.click(screen.getByRole('button', { name: 'History of alarm 1' }));
    const history = await screen.findByRole('list', { name: 'History of alarm 1' });
    expect(within(history).getAllByRole('listitem')).toHaveLength(2);
    expect(history).toHaveTextContent('commented');
    expect(history).toHaveTextContent('by admin');
    expect(history).toHaveTextContent('looking into it');
  });
});
