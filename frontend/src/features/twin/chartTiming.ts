// Timing of live chart updates for the dashboard benchmark, as performance measures:
// `chart-update` is one chart's redraw (Plotly.react until drawn), `chart-latency` the time from
// new points being handed to React (once per frame at most) until that chart showed them.
// Bounded so a long shift does not grow the performance timeline.

let pendingSince: number | null = null;
let recorded = 0;
const KEEP = 2000;

export function markChartData(): void {
  pendingSince ??= performance.now();
}

export function recordChartUpdate(started: number): void {
  if (++recorded > KEEP) {
    performance.clearMeasures('chart-update');
    performance.clearMeasures('chart-latency');
    recorded = 1;
  }
  const end = performance.now();
  performance.measure('chart-update', { start: started, end });
  if (pendingSince !== null) {
    performance.measure('chart-latency', { start: pendingSince, end });
    pendingSince = null;
  }
}
