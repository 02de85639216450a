// Bucketed history (min/max/avg per sensor and bucket) shaped for the chart.
import type { HistoryPoint } from '../../api/types';
import type { SeriesSnapshot } from '../../lib/ringBuffer';
import { parseTime } from '../../lib/time';

export interface HistorySeries {
  sensors: string[];
  series: Map<string, SeriesSnapshot>;
  envelopes: Map<string, { x: number[]; min: number[]; max: number[] }>;
  points: number;
  latest: number;
}

export function historySeries(items: readonly HistoryPoint[]): HistorySeries {
  const series = new Map<string, SeriesSnapshot>();
  const envelopes = new Map<string, { x: number[]; min: number[]; max: number[] }>();
  let latest = Number.NEGATIVE_INFINITY;
  for (const item of items) {
    const time = parseTime(item.ts);
    if (!Number.isFinite(time)) continue;
    let line = series.get(item.sensor);
    let envelope = envelopes.get(item.sensor);
    if (!line || !envelope) {
      line = { x: [], y: [] };
      envelope = { x: [], min: [], max: [] };
      series.set(item.sensor, line);
      envelopes.set(item.sensor, envelope);
    }
    line.x.push(time);
    line.y.push(item.avg);
    envelope.x.push(time);
    envelope.min.push(item.min);
    envelope.max.push(item.max);
    latest = Math.max(latest, time);
  }
  return {
    sensors: [...series.keys()].sort(),
    series,
    envelopes,
    points: items.length,
    latest,
  };
}
