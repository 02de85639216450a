// The Energy view's choices (bucket, window) and how its figures are worded: labels of buckets and
// months in the plant's time zone, money, kWh, and what each counter flag means.
import type { CounterFlags } from '../../api/types';

export type EnergyBucket = 'hour' | 'day' | 'week' | 'month';
export const BUCKETS: ReadonlyArray<readonly [EnergyBucket, string]> = [
  ['hour', 'Hour'],
  ['day', 'Day'],
  ['week', 'Week'],
  ['month', 'Month'],
];

export interface EnergyWindow {
  key: string;
  label: string;
  days: number;
}

export const WINDOWS: readonly EnergyWindow[] = [
  { key: '7d', label: '7 d', days: 7 },
  { key: '31d', label: '31 d', days: 31 },
  { key: '90d', label: '90 d', days: 90 },
  { key: '365d', label: '1 y', days: 365 },
];
export const DEFAULT_WINDOW = WINDOWS[1] as EnergyWindow;

/** The API's longest window of hourly buckets (their cost is priced hour by hour). */
export const HOUR_MAX_DAYS = 93;

/** Whether the API answers `window` in `bucket`s (hours: at most HOUR_MAX_DAYS). */
export function windowFits(window: EnergyWindow, bucket: EnergyBucket): boolean {
  return bucket !== 'hour' || window.days <= HOUR_MAX_DAYS;
}

/**
 * The window chosen, for the bucket: hours default to a week (168 bars; the next 24 h forecast
 * still gets an eighth of the chart) and a window too long for them is cut to the longest that fits.
 */
export function windowOf(key: string | null, bucket: EnergyBucket = 'day'): EnergyWindow {
  const chosen = WINDOWS.find((w) => w.key === key);
  if (bucket !== 'hour') return chosen ?? DEFAULT_WINDOW;
  if (!chosen) return WINDOWS[0] as EnergyWindow;
  if (windowFits(chosen, bucket)) return chosen;
  return WINDOWS.filter((w) => windowFits(w, bucket)).at(-1) ?? (WINDOWS[0] as EnergyWindow);
}

export function bucketOf(value: string | null): EnergyBucket {
  return value === 'hour' || value === 'week' || value === 'month' ? value : 'day';
}

/** The window's start, ending now (ISO 8601 UTC); the backend widens it to whole buckets. */
export function windowFrom(window: EnergyWindow, now = Date.now()): string {
  return new Date(now - window.days * 86_400_000).toISOString();
}

/** Calendar months of peaks that cover the window (the API takes 1..24). */
export function peakMonths(window: EnergyWindow): number {
  return Math.min(24, Math.max(1, Math.ceil(window.days / 30.4)));
}

/** A bucket's start as the plant reads it: "Mon 07 Dec", "Dec 2026". */
export function bucketLabel(iso: string, bucket: string, tz: string): string {
  const options: Intl.DateTimeFormatOptions =
    bucket === 'month'
      ? { month: 'short', year: 'numeric' }
      : bucket === 'hour'
        ? {
            weekday: 'short',
            day: '2-digit',
            month: 'short',
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
          }
        : { weekday: 'short', day: '2-digit', month: 'short' };
  return formatInZone(iso, tz, options);
}

/**
 * The plant's wall clock at an instant, as epoch ms of the same clock reading in UTC: Plotly's date
 * axes know no zones and print UTC digits, so these print the plant's local times (NaN: not a date).
 */
export function wallClockMs(iso: string, tz: string): number {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return Number.NaN;
  const parts: Record<string, number> = {};
  for (const p of wallClock(tz).formatToParts(date)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return Date.UTC(year, month - 1, day, hour, minute, second, date.getUTCMilliseconds());
}

const wallClocks = new Map<string, Intl.DateTimeFormat>();

function wallClock(tz: string): Intl.DateTimeFormat {
  let format = wallClocks.get(tz);
  if (!format) {
    const options: Intl.DateTimeFormatOptions = {
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    };
    try {
      format = new Intl.DateTimeFormat('en-US', { ...options, timeZone: tz });
    } catch {
      format = new Intl.DateTimeFormat('en-US', { ...options, timeZone: 'UTC' });
    }
    wallClocks.set(tz, format);
  }
  return format;
}

/** "2026-12-03 18:15" in the plant's zone. */
export function localDateTime(iso: string, tz: string): string {
  return formatInZone(iso, tz, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).replace(/^(\d\d)\/(\d\d)\/(\d{4}),?/, '$3-$1-$2');
}

function formatInZone(iso: string, tz: string, options: Intl.DateTimeFormatOptions): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat('en-US', { ...options, timeZone: tz }).format(date);
  } catch {
    return new Intl.DateTimeFormat('en-US', { ...options, timeZone: 'UTC' }).format(date);
  }
}

export function formatKwh(kwh: number | null | undefined): string {
  if (kwh === null || kwh === undefined || !Number.isFinite(kwh)) return '—';
  return `${kwh.toLocaleString('en-US', { maximumFractionDigits: kwh >= 100 ? 0 : 1 })} kWh`;
}

export function formatMoney(amount: number | null | undefined, currency: string | null): string {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return '—';
  if (!currency) return amount.toFixed(2);
  try {
    return amount.toLocaleString('en-US', { style: 'currency', currency });
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/** The counter flags in the order shown, each with what it means (docs/energy.md). */
export const FLAGS: ReadonlyArray<{ flag: keyof CounterFlags; label: string; means: string }> = [
  { flag: 'resets', label: 'Resets', means: 'the counter went back to zero; counted from there' },
  {
    flag: 'rollovers',
    label: 'Rollovers',
    means: 'the register passed its maximum and started over; the wrap is added',
  },
  {
    flag: 'replacements',
    label: 'Replacements',
    means: 'a new meter (any other drop or an implausible jump); that step counts 0',
  },
  {
    flag: 'interpolated',
    label: 'Interpolated',
    means: 'hours without readings, their energy spread evenly across the gap (estimated)',
  },
];
