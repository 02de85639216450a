// Time ranges of the machine chart: the live window, then wider ranges read as downsampled series.

export interface ChartRange {
  key: string;
  label: string;
  /** Window length in ms; null = the live window (ring buffer). */
  spanMs: number | null;
  /**
   * Minutes of forecast drawn after the data, a fair share of the widened axis (about a third
   * live, a sixth on 1 h and 24 h; the API allows 240 at most); null where it would be a sliver
   * at the edge (a week and longer).
   */
  forecastMinutes: number | null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const RANGES: readonly ChartRange[] = [
  { key: 'live', label: 'Live', spanMs: null, forecastMinutes: 5 },
  { key: '1h', label: '1 h', spanMs: HOUR, forecastMinutes: 15 },
  { key: '24h', label: '24 h', spanMs: DAY, forecastMinutes: 240 },
  { key: '7d', label: '7 d', spanMs: 7 * DAY, forecastMinutes: null },
  { key: '30d', label: '30 d', spanMs: 30 * DAY, forecastMinutes: null },
  { key: '90d', label: '90 d', spanMs: 90 * DAY, forecastMinutes: null },
  { key: '1y', label: '1 y', spanMs: 365 * DAY, forecastMinutes: null },
];

export function findRange(key: string | null): ChartRange {
  return RANGES.find((r) => r.key === key) ?? (RANGES[0] as ChartRange);
}
