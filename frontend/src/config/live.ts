// Tunables of the live view, shared by the fleet and twin features.

/** A machine whose last update is older than this is shown as stale. */
export const STALE_AFTER_MS = 10_000;

/** Points kept per sensor in the live chart (10 minutes at 1 Hz). */
export const SERIES_CAPACITY = 600;
