// Time ranges of the machine chart: the live window, then wider ranges read as bucketed history.
import type { Bucket } from './api';

export interface ChartRange {
  key: string;
  label: string;
  /** Window length in ms; null = the live window (ring buffer). */
  spanMs: number | null;
  bucket: Bucket | null;
  bucketLabel: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const RANGES: readonly ChartRange[] = [
  { key: 'live', label: 'Live', spanMs: null, bucket: null, bucketLabel: 'raw' },
  { key: '1h', label: '1 h', spanMs: HOUR, bucket: '1m', bucketLabel: '1-minute buckets' },
  { key: '24h', label: '24 h', spanMs: DAY, bucket: '1m', bucketLabel: '1-minute buckets' },
  { key: '7d', label: '7 d', spanMs: 7 * DAY, bucket: '1h', bucketLabel: 'hourly buckets' },
  { key: '30d', label: '30 d', spanMs: 30 * DAY, bucket: '1h', bucketLabel: 'hourly buckets' },
  { key: '1y', label: '1 y', spanMs: 365 * DAY, bucket: '1d', bucketLabel: 'daily buckets' },
];

export function findRange(key: string | null): ChartRange {
  return RANGES.find((r) => r.key === key) ?? (RANGES[0] as ChartRange);
}
