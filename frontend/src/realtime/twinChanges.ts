// Merge semantics of the `twins` stream (docs/api.md): snapshot items replace, update items
// (`TwinChange`) merge in order, later values win, `readings`/`reported` merge per key.
import type { Twin } from '../api/types';
import { isTwin, type TwinChange } from './messages';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The whole twin carried by a `kind: "twin"` change, nested or inline. */
function wholeTwin(change: TwinChange): Twin | null {
  if (isTwin(change.twin)) return change.twin;
  if (isTwin(change)) {
    const { kind: _kind, twin: _twin, ...rest } = change;
    return rest;
  }
  return null;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Desired members the device does not report yet (docs/api.md "delta"), from its reported settings
 * and readings. The stream's `reported` changes do not carry the delta, so it is kept up to date here.
 */
export function computeDelta(twin: Twin): Twin['delta'] {
  const delta: Twin['delta'] = {};
  for (const [key, wanted] of Object.entries(twin.desired)) {
    const actual = key in twin.reported ? twin.reported[key] : twin.readings[key];
    if (!sameValue(actual, wanted)) delta[key] = wanted;
  }
  return delta;
}

/**
 * A twin first seen through telemetry: its first `reported` change carries its placement (which
 * later ones carry only when the machine moves). Everything else starts empty, as the server's.
 */
function firstSeen(change: TwinChange): Twin | undefined {
  if (change.kind !== 'reported' || change.machine_type === undefined) return undefined;
  const seen = change.last_seen ?? null;
  return {
    id: change.id,
    machine_type: change.machine_type,
    site: change.site ?? null,
    line: change.line ?? null,
    status: 'online',
    ts: null,
    last_seen: seen,
    quality: 'good',
    version: 0,
    created_at: seen,
    updated_at: seen,
    readings: {},
    reported: {},
    desired: {},
    desired_version: 0,
    delta: {},
    attributes: {},
  };
}

/**
 * Applies one change to a twin. Returns the new twin (a new object when anything changed), the same
 * twin when the change is older than it (by `version`), `undefined` when there is no twin to
 * apply a partial change to (and it is not a machine's first), and `null` when the twin was
 * removed.
 */
export function applyTwinChange(
  twin: Twin | undefined,
  change: TwinChange,
): Twin | null | undefined {
  if (change.kind === 'removed') return null;
  if (twin && typeof change.version === 'number' && change.version < twin.version) return twin;
  if (change.kind === 'twin') return wholeTwin(change) ?? twin;
  const base = twin ?? firstSeen(change);
  if (!base) return undefined;
  const next: Twin = { ...base };
  if (typeof change.version === 'number') next.version = Math.max(base.version, change.version);
  if (change.kind === 'reported') {
    if (change.ts !== undefined) next.ts = change.ts;
    if (change.quality !== undefined) next.quality = change.quality;
    if (change.last_seen !== undefined) next.last_seen = change.last_seen;
    // Placement rides on a change only when it is news (a machine that moved).
    if (change.machine_type !== undefined) next.machine_type = change.machine_type;
    if (change.site !== undefined) next.site = change.site;
    if (change.line !== undefined) next.line = change.line;
    if (change.readings) next.readings = { ...base.readings, ...change.readings };
    if (change.reported) next.reported = { ...base.reported, ...change.reported };
    if (isRecord(change.delta)) next.delta = change.delta;
    else if (Object.keys(base.desired).length > 0) next.delta = computeDelta(next);
    // A machine that reports is online (the status watcher confirms with a `twin` change).
    if (base.status !== 'online') next.status = 'online';
  } else if (change.kind === 'status') {
    if (change.status) next.status = change.status;
    if (change.last_seen !== undefined) next.last_seen = change.last_seen;
  } else if (change.kind === 'analytics') {
    if (change.health !== undefined) next.health = change.health;
    if (change.anomaly_score !== undefined) next.anomaly_score = change.anomaly_score;
    if (change.strategy !== undefined) next.strategy = change.strategy;
  } else {
    return twin;
  }
  return next;
}

/** Applies changes in order to a map of twins, in place; returns the ids that changed. */
export function applyTwinChanges(
  twins: Map<string, Twin>,
  changes: readonly TwinChange[],
): Set<string> {
  const touched = new Set<string>();
  for (const change of changes) {
    const current = twins.get(change.id);
    const next = applyTwinChange(current, change);
    if (next === null) {
      if (twins.delete(change.id)) touched.add(change.id);
    } else if (next !== undefined && next !== current) {
      twins.set(change.id, next);
      touched.add(change.id);
    }
  }
  return touched;
}
