// The series endpoint's answer shaped for the chart and for seeding the live buffers.
import type { Series } from '../../api/types';
import type { SeriesSnapshot } from '../../lib/ringBuffer';
import { parseTime } from '../../lib/time';

export interface SeriesView {
  sensors: string[];
  series: Map<string, SeriesSnapshot>;
  points: number;
  /** Readings the points stand for. */
  rawCount: number;
  latest: number;
}

export function seriesView(data: Series): SeriesView {
  const series = new Map<string, SeriesSnapshot>();
  let points = 0;
  let rawCount = 0;
  let latest = Number.NEGATIVE_INFINITY;
  for (const [sensor, { t, v, raw_count }] of Object.entries(data.sensors)) {
    const x = t.map(parseTime);
    series.set(sensor, { x, y: v });
    points += x.length;
    rawCount += raw_count;
    const last = x.at(-1);
    if (last !== undefined && last > latest) latest = last;
  }
  return { sensors: [...series.keys()].sort(), series, points, rawCount, latest };
}

/** One item per point, as the live buffers take history. */
export function seriesSamples(data: Series): Array<{ ts: string; sensor: string; value: number }> {
  const samples: Array<{ ts: string; sensor: string; value: number }> = [];
  for (const [sensor, { t, v }] of Object.entries(data.sensors)) {
    t.forEach((ts, i) => samples.push({ ts, sensor, value: v[i] ?? Number.NaN }));
  }
  return samples;
}

/** "raw readings", "1-minute buckets", … for the chart status. */
export function describeSource(source: string): string {
  const buckets: Record<string, string> = {
    '1m': '1-minute buckets',
    '1h': 'hourly buckets',
    '1d': 'daily buckets',
  };
  return buckets[source] ?? 'raw readings';
}
