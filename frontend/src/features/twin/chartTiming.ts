// Timing of live chart updates for the dashboard benchmark, as performance measures:
// `chart-update` is one chart's update from the start of its redraw until Plotly has drawn it
// (Plotly spreads an update over the next frames), `chart-draw` the part of it done in the frame
// it started, and `chart-latency` the time from new points being handed to React (once per frame
// at most) until a chart showed them. Bounded so a long shift does not grow the timeline.

let pendingSince: number | null = null;
let recorded = 0;
const KEEP = 2000;
const NAMES = ['chart-update', 'chart-draw', 'chart-latency'];

export function markChartData(): void {
  pendingSince ??= performance.now();
}

/** The synchronous part of a redraw, from `started` until now. */
export function recordChartDraw(started: number): void {
  performance.measure('chart-draw', { start: started, end: performance.now() });
}

export function recordChartUpdate(started: number): void {
  if (++recorded > KEEP) {
    for (const name of NAMES) performance.clearMeasures(name);
    recorded = 1;
  }
  const end = performance.now();
  performance.measure('chart-update', { start: started, end });
  if (pendingSince !== null) {
    performance.measure('chart-latency', { start: pendingSince, end });
    pendingSince = null;
  }
}
