// Tunables of the live view, shared by the fleet and twin features.

/** A machine whose last update is older than this is shown as stale. */
export const STALE_AFTER_MS = 10_000;

/** Points kept per sensor in the live chart (10 minutes at 1 Hz). */
export const SERIES_CAPACITY = 600;

/** The live chart's window: its capacity at the 1 Hz the devices report. */
export const LIVE_WINDOW_MS = SERIES_CAPACITY * 1000;

/** Points per sensor asked of the series endpoint for the wider (history) ranges. */
export const HISTORY_WIDTH = 800;
