// A machine's status as the operator should see it: the server's online/stale/offline, and stale
// as soon as the client sees no news for a while even before the server says so.
import type { Twin, TwinStatus } from '../api/types';
import { STALE_AFTER_MS } from '../config/live';
import { parseTime } from './time';

export const STATUSES: readonly TwinStatus[] = ['online', 'stale', 'offline'];

const lastSeenCache = new WeakMap<object, number>();

/**
 * A twin's `last_seen` in epoch ms (NaN when never seen), parsed once per twin object: the fleet
 * asks for it several times per render for every machine, and twins are replaced, not mutated,
 * when they change.
 */
export function lastSeenOf(twin: Pick<Twin, 'last_seen'>): number {
  let seen = lastSeenCache.get(twin);
  if (seen === undefined) {
    seen = twin.last_seen ? parseTime(twin.last_seen) : Number.NaN;
    lastSeenCache.set(twin, seen);
  }
  return seen;
}

export function effectiveStatus(twin: Pick<Twin, 'status' | 'last_seen'>, now: number): TwinStatus {
  if (twin.status !== 'online') return twin.status;
  const seen = lastSeenOf(twin);

  return Number.isFinite(seen) && now - seen > STALE_AFTER_MS ? 'stale' : 'online';
}

/** Health 0–100 as a colour band: good ≥ 80, warn ≥ 50, else bad. */
export function healthBand(health: number | null | undefined): 'good' | 'warn' | 'bad' | 'none' {
  if (health === null || health === undefined || !Number.isFinite(health)) return 'none';
  return health >= 80 ? 'good' : health >= 50 ? 'warn' : 'bad';
}

/** Anomaly score 0–1 as a colour band. */
export function scoreBand(score: number | null | undefined): 'good' | 'warn' | 'bad' | 'none' {
  if (score === null || score === undefined || !Number.isFinite(score)) return 'none';
  return score >= 0.7 ? 'bad' : score >= 0.3 ? 'warn' : 'good';
}
