// Timestamp parsing for the backend's ISO 8601 strings (Z or +00:00, up to microseconds).

/** Epoch milliseconds, or NaN for an unparseable string. */
export function parseTime(iso: string): number {
  const direct = Date.parse(iso);
  if (!Number.isNaN(direct)) return direct;
  // Some engines reject more than three fractional digits; trim to milliseconds and retry.
  return Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
}
