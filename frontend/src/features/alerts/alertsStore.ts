// Fleet-wide anomaly events from the `alerts` stream, newest first and bounded.
import type { AnomalyEvent } from '../../api/types';
import { parseTime } from '../../lib/time';

export const ALERTS_KEPT = 200;

/** Merges events by id (later copies win), newest first, at most `limit`. */
export function mergeAlerts(
  current: readonly AnomalyEvent[],
  incoming: readonly AnomalyEvent[],
  limit = ALERTS_KEPT,
): AnomalyEvent[] {
  const byId = new Map<number, AnomalyEvent>();
  for (const event of current) byId.set(event.id, event);
  for (const event of incoming) byId.set(event.id, event);
  return [...byId.values()]
    .sort((a, b) => parseTime(b.ts) - parseTime(a.ts) || b.id - a.id)
    .slice(0, limit);
}

/** Machines whose newest event is not `resolved`: their anomaly is still open. */
export function openMachines(events: readonly AnomalyEvent[]): Set<string> {
  const seen = new Set<string>();
  const open = new Set<string>();
  for (const event of events) {
    if (seen.has(event.machine_id)) continue;
    seen.add(event.machine_id);
    if (event.kind !== 'resolved') open.add(event.machine_id);
  }
  return open;
}
