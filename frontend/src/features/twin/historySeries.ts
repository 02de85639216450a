// The series endpoint's answer shaped for the chart and for seeding the live buffers.
import type { Series } from '../../api/types';
import type { SeriesSnapshot } from '../../lib/ringBuffer';
import { parseTime } from '../../lib/time';
import { GAP_MS, minMaxEnvelope, type Envelope } from './chartData';

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

const BUCKETS: Record<string, [string, number]> = {
  '10s': ['10-second buckets', 10],
  '1m': ['1-minute buckets', 60],
  '5m': ['5-minute buckets', 300],
  '15m': ['15-minute buckets', 900],
  '1h': ['hourly buckets', 3600],
  '6h': ['6-hour buckets', 21_600],
  '1d': ['daily buckets', 86_400],
  '1w': ['weekly buckets', 604_800],
  '1mo': ['monthly buckets', 2_592_000],
};

/** The resolution named by a `source` (`raw`, `1h`; also `rollup:1h`, `archive+rollup:1d+raw`). */
function resolutionOf(source: string): string {
  const match = /(?:^|[:+])(10s|1m|5m|15m|1h|6h|1d|1w|1mo)(?:$|\+)/.exec(source);
  return match?.[1] ?? 'raw';
}

/** "raw readings", "hourly buckets", "daily buckets", … for the chart status. */
export function describeSource(source: string): string {
  return BUCKETS[resolutionOf(source)]?.[0] ?? 'raw readings';
}

/** "day" for daily buckets, "pixel column" for raw readings reduced per pixel: the band's legend. */
export function resolutionUnit(source: string | undefined): string {
  const units: Record<string, string> = {
    '10s': '10 s',
    '1m': 'minute',
    '5m': '5 minutes',
    '15m': '15 minutes',
    '1h': 'hour',
    '6h': '6 hours',
    '1d': 'day',
    '1w': 'week',
    '1mo': 'month',
  };
  return units[resolutionOf(source ?? 'raw')] ?? 'pixel column';
}

/**
 * How far apart two points of a history series may be before the line breaks: one and a half
 * buckets for bucketed series; three pixel columns of min/max (`width / 2` of them) for raw ones.
 */
export function historyGapMs(source: string, spanMs: number, width: number): number {
  const bucket = BUCKETS[resolutionOf(source)];
  const apart = bucket ? bucket[1] * 1500 : (3 * spanMs) / Math.max(1, Math.floor(width / 2));
  return Math.max(GAP_MS, apart);
}

/**
 * The min/max band per sensor of a min/max series that stands for more readings than it has
 * points (bucketed, or a raw series reduced per pixel column); null when there is nothing to band.
 */
export function seriesEnvelopes(data: Series, view: SeriesView): Map<string, Envelope> | null {
  if (data.method !== 'minmax' || view.rawCount <= view.points) return null;
  const envelopes = new Map<string, Envelope>();
  for (const [sensor, points] of view.series) {
    const envelope = minMaxEnvelope(points, Math.max(1, Math.floor(data.width / 2)));
    if (envelope) envelopes.set(sensor, envelope);
  }
  return envelopes;
}
