// Pure rules of the alarm views: merging the `alarms` stream into what the list shows (the newest
// copy of each alarm wins: the highest seq), the list's order and filters, and the header badge's
// count (the summary's figure, moved by the stream's transitions until the next summary).
import type { Alarm, AlarmPriority, AlarmState } from '../../api/types';
import {
  countsAsUnacknowledged,
  isHidden,
  isOpen,
  isUnacknowledged,
  OPEN_STATES,
  priorityRank,
} from '../../lib/alarms';
import { parseTime } from '../../lib/time';
import type { AlarmChange } from '../../realtime/messages';

/**
 * An alarm as the list shows it: a list/detail item, or a stream change (which lacks the
 * timestamps of acknowledgement and clearing and the details, and names its `transition`).
 */
export type AlarmRow = Omit<
  Alarm,
  'acked_at' | 'cleared_at' | 'closed_at' | 'details' | 'rule_id'
> &
  Partial<Pick<Alarm, 'acked_at' | 'cleared_at' | 'closed_at' | 'details' | 'rule_id'>> & {
    transition?: string;
  };

/** Alarms the stream keeps before closed ones are forgotten (open ones are always kept). */
export const FEED_KEPT = 2000;

/** The item as a row (a stream change's fields are a subset of an alarm's). */
export function toRow(item: Alarm | AlarmChange | AlarmRow): AlarmRow {
  return item as AlarmRow;
}

/**
 * Merges alarms by id: an incoming copy replaces the held one only when its seq is higher (the
 * same or an older transition arriving late changes nothing); fields a change does not carry are
 * kept from the older copy. Returns `current` itself when nothing changed.
 */
export function mergeAlarms(
  current: ReadonlyMap<number, AlarmRow>,
  incoming: ReadonlyArray<Alarm | AlarmChange | AlarmRow>,
  kept = FEED_KEPT,
): ReadonlyMap<number, AlarmRow> {
  let next: Map<number, AlarmRow> | null = null;
  for (const item of incoming) {
    const held = (next ?? current).get(item.id);
    if (held && held.seq >= item.seq) continue;
    next ??= new Map(current);
    next.set(item.id, held ? { ...held, ...toRow(item) } : toRow(item));
  }
  if (!next) return current;
  if (next.size > kept) {
    // Forget the oldest closed alarms first: nothing changes a closed alarm any more.
    const closed = [...next.values()]
      .filter((row) => !isOpen(row.state))
      .sort((a, b) => parseTime(a.updated_at) - parseTime(b.updated_at));
    for (const row of closed.slice(0, next.size - kept)) next.delete(row.id);
  }
  return next;
}

/**
 * The list's order: unacknowledged first, then by priority (critical first), then active before
 * cleared, then the newest first.
 */
export function compareAlarms(a: AlarmRow, b: AlarmRow): number {
  return (
    Number(isUnacknowledged(b.state)) - Number(isUnacknowledged(a.state)) ||
    priorityRank(a.priority) - priorityRank(b.priority) ||
    Number(a.state.endsWith('cleared')) - Number(b.state.endsWith('cleared')) ||
    parseTime(b.raised_at) - parseTime(a.raised_at) ||
    b.id - a.id
  );
}

export function sortAlarms(rows: Iterable<AlarmRow>): AlarmRow[] {
  return [...rows].sort(compareAlarms);
}

export interface AlarmFilter {
  /** Any of these states; empty: every state. */
  states: AlarmState[];
  /** Any of these priorities; empty: every priority. */
  priorities: AlarmPriority[];
  site: string;
  /** An exact machine id; empty: every machine. */
  machine: string;
  /** Also show shelved, suppressed and out-of-service alarms. */
  showHidden: boolean;
}

export const DEFAULT_FILTER: AlarmFilter = {
  states: [...OPEN_STATES],
  priorities: [],
  site: '',
  machine: '',
  showHidden: false,
};

export function matchesFilter(row: AlarmRow, filter: AlarmFilter, now: number): boolean {
  if (filter.states.length > 0 && !filter.states.includes(row.state)) return false;
  if (filter.priorities.length > 0 && !filter.priorities.includes(row.priority)) return false;
  if (filter.site && row.site !== filter.site) return false;
  if (filter.machine && row.machine_id !== filter.machine) return false;
  if (!filter.showHidden && isHidden(row, now)) return false;
  return true;
}

/** The list query's parameters for a filter (the server filters the same way). */
export function listParams(filter: AlarmFilter, limit: number) {
  return {
    state: filter.states.length > 0 ? filter.states : undefined,
    priority: filter.priorities.length > 0 ? filter.priorities : undefined,
    site: filter.site || undefined,
    machine_id: filter.machine || undefined,
    hidden: filter.showHidden ? undefined : false,
    limit,
  };
}

/**
 * What the list shows: the pages from the server with the stream's newer copies over them, plus
 * alarms only the stream knows (raised since the page was fetched), filtered and ordered.
 */
export function viewAlarms(
  fetched: readonly Alarm[],
  streamed: ReadonlyMap<number, AlarmRow>,
  filter: AlarmFilter,
  now: number,
): AlarmRow[] {
  const merged = mergeAlarms(new Map(), fetched, Number.POSITIVE_INFINITY);
  const all = mergeAlarms(merged, [...streamed.values()], Number.POSITIVE_INFINITY);
  return sortAlarms([...all.values()].filter((row) => matchesFilter(row, filter, now)));
}

// ------------------------------------------------------------------------------ the badge's count

/** What the badge knows of one alarm: its newest seq and whether it counted then. */
interface Known {
  seq: number;
  counted: boolean;
}

export interface BadgeState {
  /** The last summary's `unacknowledged`; null before the first. */
  base: number | null;
  /** What the stream's transitions since that summary changed. */
  delta: number;
  known: ReadonlyMap<number, Known>;
  /**
   * A transition of an alarm whose earlier state is unknown (older than the snapshot), or a new
   * snapshot: the count may be off until the next summary, which should be fetched soon.
   */
  stale: boolean;
}

export const EMPTY_BADGE: BadgeState = { base: null, delta: 0, known: new Map(), stale: false };

/** A summary answer: its figure replaces everything counted before it. */
export function badgeSummary(state: BadgeState, unacknowledged: number): BadgeState {
  return { ...state, base: unacknowledged, delta: 0, stale: false };
}

/** A (re)subscription's snapshot: the alarms' states as of now; a summary should follow. */
export function badgeSnapshot(
  state: BadgeState,
  items: ReadonlyArray<Alarm | AlarmRow>,
  now: number,
): BadgeState {
  const known = new Map<number, Known>();
  for (const item of items) {
    known.set(item.id, { seq: item.seq, counted: countsAsUnacknowledged(item, now) });
  }
  return { ...state, known, stale: true };
}

/**
 * Transitions from the stream (or an action's answer): each moves the count by what changed for
 * that alarm, from counted to not or back. A copy not newer than the one known changes nothing. An
 * alarm seen for the first time counts from zero only when it was just raised; otherwise its
 * earlier state is unknown and the state turns stale.
 */
export function badgeChanges(
  state: BadgeState,
  items: ReadonlyArray<AlarmChange | AlarmRow>,
  now: number,
): BadgeState {
  let known: Map<number, Known> | null = null;
  let { delta, stale } = state;
  for (const item of items) {
    const previous = (known ?? state.known).get(item.id);
    if (previous && previous.seq >= item.seq) continue;
    const counted = countsAsUnacknowledged(item, now);
    if (previous) {
      delta += Number(counted) - Number(previous.counted);
    } else if (item.transition === 'raised' || item.seq === 1) {
      delta += Number(counted);
    } else {
      stale = true;
    }
    known ??= new Map(state.known);
    // A closed alarm changes no more: forgetting it keeps what is known bounded by the open ones.
    if (isOpen(item.state)) known.set(item.id, { seq: item.seq, counted });
    else known.delete(item.id);
  }
  if (!known && stale === state.stale) return state;
  return { ...state, known: known ?? state.known, delta, stale };
}

/**
 * Alarms as the page showed them before an action (their state as the last summary counted it):
 * known from now on, so the action's answer moves the count. Alarms known already keep what the
 * stream said.
 */
export function badgeKnow(
  state: BadgeState,
  items: ReadonlyArray<Alarm | AlarmRow>,
  now: number,
): BadgeState {
  const fresh = items.filter((item) => !state.known.has(item.id) && isOpen(item.state));
  if (fresh.length === 0) return state;
  const known = new Map(state.known);
  for (const item of fresh) {
    known.set(item.id, { seq: item.seq, counted: countsAsUnacknowledged(item, now) });
  }
  return { ...state, known };
}

/** The badge's figure: null until the first summary. */
export function badgeCount(state: BadgeState): number | null {
  return state.base === null ? null : Math.max(0, state.base + state.delta);
}
