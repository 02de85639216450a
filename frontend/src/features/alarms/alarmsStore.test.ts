import type { Alarm } from '../../api/types';
import { alarmChange, makeAlarm } from '../../testing/alarmData';
import {
  badgeChanges,
  badgeCount,
  badgeKnow,
  badgeSnapshot,
  badgeSummary,
  compareAlarms,
  DEFAULT_FILTER,
  EMPTY_BADGE,
  listParams,
  matchesFilter,
  mergeAlarms,
  sortAlarms,
  viewAlarms,
  type AlarmRow,
} from './alarmsStore';
import { feedReducer } from './hooks/useAlarmFeed';

const NOW = Date.parse('2026-11-23T10:00:00Z');

describe('the list order', () => {
  it('puts unacknowledged alarms first, then by priority, active before cleared, newest first', () => {
    const rows = [
      makeAlarm({ id: 1, state: 'ack_active', priority: 'critical' }),
      makeAlarm({ id: 2, state: 'unack_active', priority: 'low' }),
      makeAlarm({ id: 3, state: 'unack_cleared', priority: 'critical' }),
      makeAlarm({ id: 4, state: 'unack_active', priority: 'critical' }),
      makeAlarm({
        id: 5,
        state: 'unack_active',
        priority: 'high',
        raised_at: '2026-11-23T09:00:00Z',
      }),
      makeAlarm({
        id: 6,
        state: 'unack_active',
        priority: 'high',
        raised_at: '2026-11-23T09:30:00Z',
      }),
      makeAlarm({ id: 7, state: 'ack_active', priority: 'medium' }),
      makeAlarm({ id: 8, state: 'normal', priority: 'high' }),
    ];
    expect(sortAlarms(rows).map((row) => row.id)).toEqual([4, 3, 6, 5, 2, 1, 8, 7]);
  });

  it('breaks full ties by id, newest (highest) first, so the order is stable', () => {
    const a = makeAlarm({ id: 10 });
    const b = makeAlarm({ id: 11 });
    expect(compareAlarms(a, b)).toBeGreaterThan(0);
    expect(sortAlarms([a, b]).map((row) => row.id)).toEqual([11, 10]);
  });
});

describe('the stream merge', () => {
  it('keeps the newest copy of each alarm by its seq, whatever the arrival order', () => {
    const raised = makeAlarm({ id: 1, seq: 1 });
    const acked = makeAlarm({ id: 1, seq: 2, state: 'ack_active', acked_by: 'user:op' });
    const merged = mergeAlarms(new Map(), [acked, raised]);
    expect(merged.get(1)?.state).toBe('ack_active');
    // A late or repeated copy changes nothing and keeps the map as it was.
    expect(mergeAlarms(merged, [raised])).toBe(merged);
    expect(mergeAlarms(merged, [acked])).toBe(merged);
  });

  it('keeps fields a stream change does not carry from the older copy', () => {
    const alarm = makeAlarm({ id: 1, seq: 1, rule_id: 3, details: { rule: 'pump hot' } });
    const change = alarmChange({ ...alarm, seq: 2, state: 'ack_active' }, 'acknowledged');
    const merged = mergeAlarms(mergeAlarms(new Map(), [alarm]), [change]).get(1);
    expect(merged).toMatchObject({ state: 'ack_active', rule_id: 3, transition: 'acknowledged' });
    expect(merged?.details).toEqual({ rule: 'pump hot' });
  });

  it('forgets the oldest closed alarms beyond the limit, never open ones', () => {
    const items = [
      makeAlarm({ id: 1, state: 'normal', updated_at: '2026-11-23T09:00:00Z' }),
      makeAlarm({ id: 2, state: 'normal', updated_at: '2026-11-23T09:10:00Z' }),
      makeAlarm({ id: 3, state: 'unack_active', updated_at: '2026-11-23T08:00:00Z' }),
      makeAlarm({ id: 4, state: 'ack_active' }),
    ];
    expect([...mergeAlarms(new Map(), items, 3).keys()].sort()).toEqual([2, 3, 4]);
  });

  it('shows the fetched list with newer stream copies over it and alarms only the stream knows', () => {
    const fetched = [makeAlarm({ id: 1, seq: 1 }), makeAlarm({ id: 2, seq: 3, priority: 'low' })];
    const streamed = mergeAlarms(new Map(), [
      // acknowledged since the list was fetched
      alarmChange(makeAlarm({ id: 1, seq: 2, state: 'ack_active' }), 'acknowledged'),
      // older than the list's copy: ignored
      alarmChange(
        makeAlarm({ id: 2, seq: 2, state: 'ack_active', priority: 'low' }),
        'acknowledged',
      ),
      // raised since
      alarmChange(makeAlarm({ id: 3, seq: 1, priority: 'critical' }), 'raised'),
      // closed: not in the default (open) filter
      alarmChange(makeAlarm({ id: 4, seq: 4, state: 'normal' }), 'closed'),
    ]);
    const rows = viewAlarms(fetched, streamed, DEFAULT_FILTER, NOW);
    expect(rows.map((row) => [row.id, row.state])).toEqual([
      [3, 'unack_active'],
      [2, 'unack_active'],
      [1, 'ack_active'],
    ]);
  });
});

describe('the filters', () => {
  const row = (overrides: Partial<Alarm>): AlarmRow => makeAlarm(overrides);

  it('match states, priorities, site and machine; empty lists match everything', () => {
    const alarm = row({ state: 'ack_active', priority: 'low', site: 'site-2' });
    expect(matchesFilter(alarm, DEFAULT_FILTER, NOW)).toBe(true);
    expect(matchesFilter(alarm, { ...DEFAULT_FILTER, states: ['unack_active'] }, NOW)).toBe(false);
    expect(matchesFilter(alarm, { ...DEFAULT_FILTER, states: [] }, NOW)).toBe(true);
    expect(matchesFilter(alarm, { ...DEFAULT_FILTER, priorities: ['critical'] }, NOW)).toBe(false);
    expect(matchesFilter(alarm, { ...DEFAULT_FILTER, site: 'site-1' }, NOW)).toBe(false);
    expect(matchesFilter(alarm, { ...DEFAULT_FILTER, machine: 'pump-0001' }, NOW)).toBe(true);
    expect(matchesFilter(alarm, { ...DEFAULT_FILTER, machine: 'pump-0002' }, NOW)).toBe(false);
  });

  it('hide shelved, suppressed and out-of-service alarms unless asked; an ended shelving shows', () => {
    const shelved = row({ shelved_until: '2026-11-23T11:00:00Z' });
    const ended = row({ shelved_until: '2026-11-23T09:00:00Z' });
    for (const hidden of [shelved, row({ suppressed: true }), row({ out_of_service: true })]) {
      expect(matchesFilter(hidden, DEFAULT_FILTER, NOW)).toBe(false);
      expect(matchesFilter(hidden, { ...DEFAULT_FILTER, showHidden: true }, NOW)).toBe(true);
    }
    expect(matchesFilter(ended, DEFAULT_FILTER, NOW)).toBe(true);
  });

  it('become the list query: repeated states and priorities, hidden=false by default', () => {
    expect(listParams(DEFAULT_FILTER, 200)).toEqual({
      state: ['unack_active', 'ack_active', 'unack_cleared'],
      priority: undefined,
      site: undefined,
      machine_id: undefined,
      hidden: false,
      limit: 200,
    });
    expect(
      listParams(
        { ...DEFAULT_FILTER, states: [], priorities: ['critical'], site: 's', showHidden: true },
        50,
      ),
    ).toMatchObject({ state: undefined, priority: ['critical'], site: 's', hidden: undefined });
  });
});

describe('the badge count', () => {
  const open = makeAlarm({ id: 1, seq: 1 });

  it('is the summary figure until the stream moves it', () => {
    expect(badgeCount(EMPTY_BADGE)).toBeNull();
    expect(badgeCount(badgeSummary(EMPTY_BADGE, 3))).toBe(3);
  });

  it('counts a newly raised alarm and drops an acknowledged one at once', () => {
    let badge = badgeSummary(badgeSnapshot(EMPTY_BADGE, [open], NOW), 1);
    const raised = makeAlarm({ id: 2, seq: 1 });
    badge = badgeChanges(badge, [alarmChange(raised, 'raised')], NOW);
    expect(badgeCount(badge)).toBe(2);
    badge = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 2, state: 'ack_active' }, 'acknowledged')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(1);
    // The stream's echo of a transition already applied (an action's answer first) changes nothing.
    const again = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 2, state: 'ack_active' }, 'acknowledged')],
      NOW,
    );
    expect(again).toBe(badge);
    expect(badge.stale).toBe(false);
  });

  it('follows shelving, suppression and clearing: only unacknowledged, visible alarms count', () => {
    let badge = badgeSummary(badgeSnapshot(EMPTY_BADGE, [open], NOW), 1);
    badge = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 2, shelved_until: '2026-11-23T11:00:00Z' }, 'shelved')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(0);
    badge = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 3, shelved_until: null }, 'unshelved')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(1);
    // Cleared but not acknowledged: still counts.
    badge = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 4, state: 'unack_cleared' }, 'cleared')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(1);
    badge = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 5, state: 'normal' }, 'acknowledged')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(0);
    // Closed alarms are forgotten: what is known stays bounded.
    expect(badge.known.has(open.id)).toBe(false);
  });

  it('turns stale, not wrong, on a transition of an alarm it never saw; a summary settles it', () => {
    let badge = badgeSummary(badgeSnapshot(EMPTY_BADGE, [], NOW), 5);
    badge = badgeChanges(
      badge,
      [alarmChange(makeAlarm({ id: 9, seq: 3, state: 'ack_active' }), 'acknowledged')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(5);
    expect(badge.stale).toBe(true);
    badge = badgeSummary(badge, 4);
    expect(badgeCount(badge)).toBe(4);
    expect(badge.stale).toBe(false);
    // The alarm is known now: its next transition moves the count.
    badge = badgeChanges(
      badge,
      [alarmChange(makeAlarm({ id: 9, seq: 4, state: 'unack_active' }), 'raised')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(5);
  });

  it("moves on an action's answer for an alarm older than the snapshot, known from the page", () => {
    const old = makeAlarm({ id: 7, seq: 4, state: 'unack_active' });
    let badge = badgeSummary(badgeSnapshot(EMPTY_BADGE, [], NOW), 3);
    badge = badgeKnow(badge, [old], NOW);
    expect(badgeCount(badge)).toBe(3);
    badge = badgeChanges(badge, [{ ...old, seq: 5, state: 'ack_active' }], NOW);
    expect(badgeCount(badge)).toBe(2);
    expect(badge.stale).toBe(false);
    // What the stream told wins over what the page showed.
    const streamed = badgeChanges(badge, [alarmChange({ ...old, seq: 6 }, 'raised')], NOW);
    expect(badgeKnow(streamed, [old], NOW)).toBe(streamed);
  });

  it('never goes below zero', () => {
    let badge = badgeSummary(badgeSnapshot(EMPTY_BADGE, [open], NOW), 0);
    badge = badgeChanges(
      badge,
      [alarmChange({ ...open, seq: 2, state: 'ack_active' }, 'acknowledged')],
      NOW,
    );
    expect(badgeCount(badge)).toBe(0);
  });
});

describe('the feed', () => {
  const INITIAL = {
    alarms: new Map<number, AlarmRow>(),
    epoch: 0,
    subscribed: false,
    error: null,
    badge: EMPTY_BADGE,
  };

  it('replaces its alarms with each snapshot, merges updates and moves the badge', () => {
    let state = feedReducer(INITIAL, { type: 'summary', value: 1 });
    state = feedReducer(state, { type: 'snapshot', items: [makeAlarm({ id: 1 })], now: NOW });
    expect(state).toMatchObject({ epoch: 1, subscribed: true });
    state = feedReducer(state, { type: 'summary', value: 1 });
    state = feedReducer(state, {
      type: 'update',
      items: [alarmChange(makeAlarm({ id: 2 }), 'raised')],
      now: NOW,
    });
    expect([...state.alarms.keys()]).toEqual([1, 2]);
    expect(badgeCount(state.badge)).toBe(2);
    state = feedReducer(state, { type: 'snapshot', items: [makeAlarm({ id: 2 })], now: NOW });
    expect([...state.alarms.keys()]).toEqual([2]);
    expect(state.epoch).toBe(2);
  });

  it('records why the stream is unavailable, until the next snapshot', () => {
    let state = feedReducer(INITIAL, { type: 'error', message: 'Unknown stream' });
    expect(state).toMatchObject({ subscribed: false, error: 'Unknown stream' });
    state = feedReducer(state, { type: 'snapshot', items: [], now: NOW });
    expect(state).toMatchObject({ subscribed: true, error: null });
  });

  it('returns the same state for an update that changes nothing', () => {
    const state = feedReducer(INITIAL, { type: 'snapshot', items: [makeAlarm()], now: NOW });
    expect(feedReducer(state, { type: 'update', items: [makeAlarm()], now: NOW })).toBe(state);
  });
});
