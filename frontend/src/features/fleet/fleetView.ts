// Pure filtering, sorting and counting of the fleet for the overview table.
import type { Twin, TwinStatus } from '../../api/types';
import { effectiveStatus, STATUSES } from '../../lib/status';

export type SortKey = 'id' | 'health' | '-anomaly_score' | 'status';

export const SORTS: ReadonlyArray<{ key: SortKey; label: string }> = [
  { key: 'id', label: 'Machine id' },
  { key: 'health', label: 'Health (worst first)' },
  { key: '-anomaly_score', label: 'Anomaly score (highest first)' },
  { key: 'status', label: 'Status (offline first)' },
];

export interface FleetFilter {
  search: string;
  site: string;
  line: string;
  machineType: string;
  status: TwinStatus | '';
}

export const EMPTY_FILTER: FleetFilter = {
  search: '',
  site: '',
  line: '',
  machineType: '',
  status: '',
};

export interface FleetOptions {
  sites: string[];
  lines: string[];
  machineTypes: string[];
}

/** Distinct sites, lines and types present in the fleet, for the filter menus. */
export function fleetOptions(twins: readonly Twin[]): FleetOptions {
  const sites = new Set<string>();
  const lines = new Set<string>();
  const types = new Set<string>();
  for (const twin of twins) {
    if (twin.site) sites.add(twin.site);
    if (twin.line) lines.add(twin.line);
    types.add(twin.machine_type);
  }
  const sorted = (set: Set<string>) => [...set].sort();
  return { sites: sorted(sites), lines: sorted(lines), machineTypes: sorted(types) };
}

export type StatusCounts = Record<TwinStatus, number>;

export function countByStatus(twins: readonly Twin[], now: number): StatusCounts {
  const counts: StatusCounts = { online: 0, stale: 0, offline: 0 };
  for (const twin of twins) counts[effectiveStatus(twin, now)] += 1;
  return counts;
}

const STATUS_RANK: Record<TwinStatus, number> = { offline: 0, stale: 1, online: 2 };

/** Missing values sort last whatever the direction. */
function compareNullable(a: number | null | undefined, b: number | null | undefined): number {
  const aMissing = a === null || a === undefined || Number.isNaN(a);
  const bMissing = b === null || b === undefined || Number.isNaN(b);
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  return a - b;
}

const negate = (value: number | null | undefined) =>
  value === null || value === undefined ? value : -value;

const byId = (a: Twin, b: Twin) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function filterAndSort(
  twins: readonly Twin[],
  filter: FleetFilter,
  sort: SortKey,
  now: number,
): Twin[] {
  const search = filter.search.trim().toLowerCase();
  const shown = twins.filter(
    (twin) =>
      (!search || twin.id.toLowerCase().includes(search)) &&
      (!filter.site || twin.site === filter.site) &&
      (!filter.line || twin.line === filter.line) &&
      (!filter.machineType || twin.machine_type === filter.machineType) &&
      (!filter.status || effectiveStatus(twin, now) === filter.status),
  );
  switch (sort) {
    case 'health':
      return shown.sort((a, b) => compareNullable(a.health, b.health) || byId(a, b));
    case '-anomaly_score':
      return shown.sort(
        (a, b) => compareNullable(negate(a.anomaly_score), negate(b.anomaly_score)) || byId(a, b),
      );
    case 'status':
      return shown.sort(
        (a, b) =>
          STATUS_RANK[effectiveStatus(a, now)] - STATUS_RANK[effectiveStatus(b, now)] || byId(a, b),
      );
    default:
      return shown.sort(byId);
  }
}

export { STATUSES };
