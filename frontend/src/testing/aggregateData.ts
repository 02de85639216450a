// Answers of GET /api/v1/twins/aggregate for component tests: the fleet per site and line, as the
// backend groups it (sorted by key, nulls last) for the per-line breakdown's aggregates.
import type { AggregateGroup, TwinAggregate } from '../api/types';

export function makeGroup(
  site: string | null,
  line: string | null,
  count: number,
  figures: { avg?: number | null; min?: number | null; stale?: number; offline?: number } = {},
): AggregateGroup {
  const { avg = null, min = null, stale = 0, offline = 0 } = figures;
  return {
    key: { site, line },
    count,
    values: {
      count,
      'avg:health': avg,
      'min:health': min,
      'count:status=stale': stale,
      'count:status=offline': offline,
    },
  };
}

/**
 * The sample fleet (testing/sampleData.ts) per line, plus two machines on site-1 that have no line
 * (one of them stale) and one registered machine that has neither site nor line and never reported
 * (offline, no health score).
 */
export const sampleBreakdown: TwinAggregate = {
  group_by: ['site', 'line'],
  aggregates: ['count', 'avg:health', 'min:health', 'count:status=stale', 'count:status=offline'],
  groups: [
    makeGroup('site-1', 'line-1', 1, { avg: 92, min: 92 }),
    makeGroup('site-1', 'line-2', 1, { avg: 67, min: 67, offline: 1 }),
    makeGroup('site-1', null, 2, { avg: 55.5, min: 48.4, stale: 1 }),
    makeGroup('site-2', 'line-2', 1, { avg: 41, min: 41 }),
    makeGroup(null, null, 1, { offline: 1 }),
  ],
  total: {
    key: {},
    count: 6,
    values: {
      count: 6,
      'avg:health': 311 / 5,
      'min:health': 41,
      'count:status=stale': 1,
      'count:status=offline': 2,
    },
  },
};

/** `sampleBreakdown` narrowed as the backend would by the `site` and `line` query parameters. */
export function breakdownFor(query: URLSearchParams): TwinAggregate {
  const site = query.get('site');
  const line = query.get('line');
  const groups = sampleBreakdown.groups.filter(
    (group) => (!site || group.key.site === site) && (!line || group.key.line === line),
  );
  const sum = (name: string) => groups.reduce((acc, group) => acc + (group.values[name] ?? 0), 0);
  const count = sum('count');
  // A group has a health score for all its machines or for none, so the mean weighs groups by count.
  const withHealth = groups.filter((group) => group.values['avg:health'] != null);
  const weight = withHealth.reduce((acc, group) => acc + group.count, 0);
  const mins = withHealth.map((group) => group.values['min:health'] ?? Number.POSITIVE_INFINITY);
  const total: AggregateGroup = {
    key: {},
    count,
    values: {
      count,
      'avg:health': weight
        ? withHealth.reduce((acc, g) => acc + (g.values['avg:health'] ?? 0) * g.count, 0) / weight
        : null,
      'min:health': mins.length ? Math.min(...mins) : null,
      'count:status=stale': sum('count:status=stale'),
      'count:status=offline': sum('count:status=offline'),
    },
  };
  return { ...sampleBreakdown, groups, total };
}
