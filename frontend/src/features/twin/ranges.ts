// Time ranges of the machine chart: the live window, then wider ranges read as downsampled series.

export interface ChartRange {
  key: string;
  label: string;
  /** Window length in ms; null = the live window (ring buffer). */
  spanMs: number | null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const RANGES: readonly ChartRange[] = [
  { key: 'live', label: 'Live', spanMs: null },
  { key: '1h', label: '1 h', spanMs: HOUR },
  { key: '24h', label: '24 h', spanMs: DAY },
  { key: '7d', label: '7 d', spanMs: 7 * DAY },
  { key: '30d', label: '30 d', spanMs: 30 * DAY },
  { key: '90d', label: '90 d', spanMs: 90 * DAY },
  { key: '1y', label: '1 y', spanMs: 365 * DAY },
];

export function findRange(key: string | null): ChartRange {
  return RANGES.find((r) => r.key === key) ?? (RANGES[0] as ChartRange);
}
