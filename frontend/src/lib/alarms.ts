// The alarm vocabulary of the dashboard (ISA-18.2 states, priorities, conditions), shared by the
// alarms page and the machine view: labels, ranks, and what counts as unacknowledged or hidden.
import type { AlarmPriority, AlarmRuleKind, AlarmState } from '../api/types';
import { parseTime } from './time';

export const PRIORITIES: readonly AlarmPriority[] = ['critical', 'high', 'medium', 'low'];

/** Lower is more urgent. */
export const PRIORITY_RANK: Readonly<Record<AlarmPriority, number>> = {
  critical: 0,
  high: 1,
  medium: 2,
  low: 3,
};

export const STATES: readonly AlarmState[] = [
  'unack_active',
  'ack_active',
  'unack_cleared',
  'normal',
];

/** The open states (the list's default): an alarm in `normal` is closed. */
export const OPEN_STATES: readonly AlarmState[] = ['unack_active', 'ack_active', 'unack_cleared'];

export const STATE_LABELS: Readonly<Record<AlarmState, string>> = {
  unack_active: 'Unacknowledged',
  ack_active: 'Acknowledged',
  unack_cleared: 'Cleared, unacknowledged',
  normal: 'Closed',
};

export const KIND_LABELS: Readonly<Record<AlarmRuleKind, string>> = {
  hihi: 'high-high',
  hi: 'high',
  lo: 'low',
  lolo: 'low-low',
};

/** What every alarm item carries, whether from the list, the detail or the stream. */
export interface AlarmLike {
  id: number;
  seq: number;
  /** An AlarmState (a string, so stream items of a newer backend still fit). */
  state: string;
  /** An AlarmPriority. */
  priority: string;
  shelved_until?: string | null;
  suppressed?: boolean;
  out_of_service?: boolean;
}

export function isUnacknowledged(state: string): boolean {
  return state === 'unack_active' || state === 'unack_cleared';
}

export function isOpen(state: string): boolean {
  return state !== 'normal';
}

export function priorityRank(priority: string): number {
  return PRIORITY_RANK[priority as AlarmPriority] ?? PRIORITIES.length;
}

/**
 * Shelved (until a time still to come), suppressed by design or out of service: kept, but not shown
 * to operators by default and not counted in the badge. A shelving whose time is up counts as over
 * even before the backend's transition arrives.
 */
export function isHidden(alarm: AlarmLike, now: number = Date.now()): boolean {
  if (alarm.suppressed || alarm.out_of_service) return true;
  if (!alarm.shelved_until) return false;
  const until = parseTime(alarm.shelved_until);
  return !Number.isFinite(until) || until > now;
}

/** The alarms the header badge counts: open, unacknowledged, not hidden. */
export function countsAsUnacknowledged(alarm: AlarmLike, now: number = Date.now()): boolean {
  return isUnacknowledged(alarm.state) && !isHidden(alarm, now);
}

export interface ThresholdCondition {
  kind: AlarmRuleKind;
  sensor: string;
}

/** `hi:discharge_pressure_bar` → {kind: 'hi', sensor}; null for other conditions (`anomaly`, `offline`). */
export function parseCondition(condition: string): ThresholdCondition | null {
  const colon = condition.indexOf(':');
  if (colon < 0) return null;
  const kind = condition.slice(0, colon);
  const sensor = condition.slice(colon + 1);
  if (!(kind in KIND_LABELS) || !sensor) return null;
  return { kind: kind as AlarmRuleKind, sensor };
}

/** Colours per priority, for charts and markers (the chips use the same ones from styles.css). */
export const PRIORITY_COLOURS: Readonly<Record<AlarmPriority, string>> = {
  critical: '#ef4444',
  high: '#fb923c',
  medium: '#facc15',
  low: '#60a5fa',
};

export function priorityColour(priority: string): string {
  return PRIORITY_COLOURS[priority as AlarmPriority] ?? '#94a3b8';
}
