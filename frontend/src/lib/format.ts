// Display formatting: sensor names with unit suffixes, numbers, timestamps and ages.

/** Unit suffixes, longest first so `_mm_s` wins over `_s`. */
const UNIT_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ['_mm_s', 'mm/s'],
  ['_m3_h', 'm³/h'],
  ['_l_min', 'l/min'],
  ['_m_s2', 'm/s²'],
  ['_m_s', 'm/s'],
  ['_rpm', 'rpm'],
  ['_kpa', 'kPa'],
  ['_bar', 'bar'],
  ['_pct', '%'],
  ['_kwh', 'kWh'],
  ['_kw', 'kW'],
  ['_hz', 'Hz'],
  ['_nm', 'N·m'],
  ['_c', '°C'],
  ['_k', 'K'],
  ['_a', 'A'],
  ['_v', 'V'],
  ['_w', 'W'],
  ['_s', 's'],
];

export interface SensorInfo {
  /** Human label without the unit, e.g. "temperature". */
  label: string;
  /** Unit text, e.g. "°C"; empty when the name carries no known unit. */
  unit: string;
}

const sensorCache = new Map<string, SensorInfo>();

export function sensorInfo(name: string): SensorInfo {
  const cached = sensorCache.get(name);
  if (cached) return cached;
  let info: SensorInfo = { label: name.replaceAll('_', ' '), unit: '' };
  for (const [suffix, unit] of UNIT_SUFFIXES) {
    if (name.length > suffix.length && name.endsWith(suffix)) {
      info = { label: name.slice(0, -suffix.length).replaceAll('_', ' '), unit };
      break;
    }
  }
  sensorCache.set(name, info);
  return info;
}

const formatters = [0, 1, 2].map(
  (digits) =>
    new Intl.NumberFormat('en-US', {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
      useGrouping: false,
    }),
);

/** About three significant digits, never exponent notation for plant-scale values. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  return formatters[digits]?.format(value) ?? String(value);
}

export function formatReading(sensor: string, value: number): string {
  const { unit } = sensorInfo(sensor);
  return unit ? `${formatValue(value)} ${unit}` : formatValue(value);
}

/** Compact age: "now", "4 s", "3 min", "2 h", "5 d". */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 1) return 'now';
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** HH:MM:SS in UTC; the plant runs on UTC and the backend speaks UTC. */
export function formatClock(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—';
  return new Date(epochMs).toISOString().slice(11, 19);
}

/** Machine types are snake_case identifiers; show them as words. */
export function formatMachineType(machineType: string): string {
  return machineType.replaceAll('_', ' ');
}

/** A duration in seconds as "3 d 4 h", "5 h 12 min", "8 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  return `${Math.max(minutes, s > 0 ? 1 : 0)} min`;
}

/** "2026-11-23 10:00:00" in UTC. */
export function formatDateTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—';
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** Any JSON-ish value, short. */
export function formatAny(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'number') return formatValue(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
