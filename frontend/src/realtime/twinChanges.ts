// Merge semantics of the `twins` stream (docs/api.md): snapshot items replace, update items
// (`TwinChange`, the change-stream contract) merge in order by `applyTwinChange`.
import type { Twin } from '../api/types';
import { canonicalStrategy } from '../lib/strategy';
import type { ReportedChange, TwinChange, WholeTwinChange } from './messages';

const STATUSES: readonly Twin['status'][] = ['online', 'stale', 'offline'];

/** The twin a `kind: "twin"` change carries, shaped as the API's twin: its status is the last one recorded
 * (`status_known`), else the one held. */
function wholeTwin(change: WholeTwinChange, held: Twin | undefined): Twin {
  const { kind: _kind, status_known: known, ...rest } = change;
  const recorded = STATUSES.find((s) => s === known);
  return {
    ...rest,
    strategy: canonicalStrategy(rest.strategy),
    status: recorded ?? held?.status ?? 'offline',
  };
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
function firstSeen(change: ReportedChange): Twin | undefined {
  if (change.machine_type == null) return undefined;
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
 * Applies one change to a twin: THE merge rule of the `twins` stream, the same as the backend's
 * (`dtwin.twins.view.apply_change`; the golden fixtures in backend/tests/golden/changes hold both to it).
 * Returns the new twin (a new object when anything changed), the same twin when the change is already
 * reflected, `undefined` when there is no twin to apply a partial change to (and it is not a machine's
 * first), and `null` when the twin was removed.
 *
 * - `removed`: no twin.
 * - `twin`: the whole twin replaces the one held unless that one is newer (version greater).
 * - `reported`: applies unless the twin held is newer (version greater); of the same version it applies
 *   again, harmlessly: this client may hold only a `fields` projection of it (the fleet subscription) when
 *   the full change arrives (the rows subscription). Readings and reported settings merge per key,
 *   placement members replace, `ts` (with its quality) and `last_seen` only move forward; a twin not known
 *   here starts from it only when it carries the placement; the delta is recomputed.
 * - `analytics`, `status`: carry no version; apply to a twin that is known (a status's `last_seen` only when
 *   it is newer than the one held).
 */
export function applyTwinChange(
  twin: Twin | undefined,
  change: TwinChange,
): Twin | null | undefined {
  switch (change.kind) {
    case 'removed':
      return null;
    case 'twin':
      if (twin && change.version < twin.version) return twin;
      return wholeTwin(change, twin);
    case 'reported': {
      const base = twin ?? firstSeen(change);
      if (!base) return undefined;
      if (typeof change.version === 'number' && change.version < base.version) return base;
      const next: Twin = { ...base };
      if (typeof change.version === 'number') next.version = Math.max(base.version, change.version);
      if (change.ts !== undefined && (base.ts == null || change.ts >= base.ts)) {
        next.ts = change.ts;
        if (change.quality !== undefined) next.quality = change.quality;
      }
      const seen = change.last_seen;
      if (seen !== undefined && (base.last_seen == null || seen > base.last_seen))
        next.last_seen = seen;
      if (seen !== undefined && (base.updated_at == null || seen > base.updated_at))
        next.updated_at = seen;
      // Placement rides on a change only when it is news (a new twin, a machine that moved).
      if (change.machine_type != null) next.machine_type = change.machine_type;
      if (change.site != null) next.site = change.site;
      if (change.line != null) next.line = change.line;
      if (change.readings) next.readings = { ...base.readings, ...change.readings };
      if (change.reported) next.reported = { ...base.reported, ...change.reported };
      if (Object.keys(base.desired).length > 0) next.delta = computeDelta(next);
      // A machine that reports is online (the status watcher confirms with a `status` change).
      if (base.status !== 'online') next.status = 'online';
      return next;
    }
    case 'analytics': {
      if (!twin) return undefined;
      const next: Twin = { ...twin };
      if (change.health !== undefined) next.health = change.health;
      if (change.anomaly_score !== undefined) next.anomaly_score = change.anomaly_score;
      if (change.strategy !== undefined) next.strategy = canonicalStrategy(change.strategy);
      return next;
    }
    case 'status': {
      if (!twin) return undefined;
      const next: Twin = { ...twin };
      if (change.status) next.status = change.status;
      const seen = change.last_seen;
      if (seen != null && (next.last_seen == null || seen > next.last_seen)) next.last_seen = seen;
      return next;
    }
    default:
      return twin;
  }
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
