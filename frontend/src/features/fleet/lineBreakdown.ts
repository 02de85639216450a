// The fleet per site and line (issue #23): the parameters of the one aggregate request, built from
// the fleet view's filters, and its groups as table rows. Pure, so it is tested without a server.
import type { QueryParams } from '../../api/client';
import type { AggregateGroup } from '../../api/types';
import type { FleetFilter } from './fleetView';

export const AGGREGATE_PATH = '/api/v1/twins/aggregate';

/** What each row shows; the answer's `values` are keyed by these names as written here. */
export const BREAKDOWN_AGGREGATES = [
  'count',
  'avg:health',
  'min:health',
  'count:status=stale',
  'count:status=offline',
] as const;

/**
 * The request for the fleet view's current filters. The table filters in the browser; these map onto
 * the endpoint's filters one to one: site, line, machine_type and status. Status is judged on each
 * side with its own clock: the server calls a machine stale after 3 expected intervals (at least
 * 5 s) of silence, the table after STALE_AFTER_MS (10 s), so for a few seconds a machine can be
 * counted as stale here and still shown online in the table. The id search has no server-side
 * equivalent (`where` compares properties under reported/desired/attributes/delta, not the id, and
 * has no substring operator), so it is not sent and the breakdown says so. The view has no health
 * threshold or property filter, so `health_lt` and `where` are never sent.
 */
export function breakdownParams(filter: FleetFilter): QueryParams {
  return {
    group_by: 'site,line',
    agg: BREAKDOWN_AGGREGATES.join(','),
    site: filter.site || undefined,
    line: filter.line || undefined,
    machine_type: filter.machineType || undefined,
    status: filter.status || undefined,
  };
}

export interface BreakdownRow {
  /** Unique among the rows (a null key and the text "null" differ). */
  key: string;
  /** Null: the machines without a site (or line). */
  site: string | null;
  line: string | null;
  machines: number;
  avgHealth: number | null;
  minHealth: number | null;
  stale: number;
  offline: number;
}

function keyText(value: AggregateGroup['key'][string] | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}

function number(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}

/** One group of a `group_by=site,line` answer as a row (the `total` too: its key is empty). */
export function breakdownRow(group: AggregateGroup): BreakdownRow {
  const site = keyText(group.key.site);
  const line = keyText(group.key.line);
  const { values } = group;
  return {
    key: JSON.stringify([site, line]),
    site,
    line,
    machines: group.count,
    avgHealth: number(values['avg:health']),
    minHealth: number(values['min:health']),
    stale: number(values['count:status=stale']) ?? 0,
    offline: number(values['count:status=offline']) ?? 0,
  };
}
