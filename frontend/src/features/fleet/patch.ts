// Pure merge of live updates into the cached twin list.
import type { Twin, TwinList, TwinUpdate } from '../../api/types';
import { parseTime } from '../../lib/time';

/** Folds a new update into a pending one for the same machine (readings merged, newest wins). */
export function mergeUpdate(previous: TwinUpdate | undefined, next: TwinUpdate): TwinUpdate {
  if (!previous) return next;
  if (parseTime(next.ts) < parseTime(previous.ts)) {
    return { ...previous, readings: { ...next.readings, ...previous.readings } };
  }
  return { ...next, readings: { ...previous.readings, ...next.readings } };
}

function applyOne(twin: Twin, update: TwinUpdate, receivedAt: string): Twin {
  // Late or replayed updates must not move a machine back in time.
  if (parseTime(update.ts) < parseTime(twin.ts)) return twin;
  return {
    ...twin,
    machine_type: update.machine_type,
    site: update.site,
    line: update.line,
    ts: update.ts,
    quality: update.quality,
    last_seen: receivedAt,
    readings: { ...twin.readings, ...update.readings },
  };
}

/** An update waiting to be applied, with the (server-clock) time it arrived. */
export interface PendingUpdate {
  update: TwinUpdate;
  receivedAt: string;
}

/**
 * Returns a new list with `updates` applied. Untouched twins keep their object identity; machines
 * not yet in the list are added, keeping the list sorted by id.
 */
export function applyUpdates(
  list: TwinList,
  updates: ReadonlyMap<string, PendingUpdate>,
): TwinList {
  if (updates.size === 0) return list;
  const remaining = new Map(updates);
  const items = list.items.map((twin) => {
    const pending = remaining.get(twin.id);
    if (!pending) return twin;
    remaining.delete(twin.id);
    return applyOne(twin, pending.update, pending.receivedAt);
  });
  if (remaining.size > 0) {
    for (const { update, receivedAt } of remaining.values()) {
      items.push({ ...update, last_seen: receivedAt });
    }
    items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return { items, count: items.length };
}
