// Timing of live chart updates for the dashboard benchmark: from the moment new points are handed
// to React (once per frame at most) until Plotly has drawn them. Recorded as `chart-update`
// performance measures; bounded so a long shift does not grow the timeline.

let pendingSince: number | null = null;
let recorded = 0;
const KEEP = 2000;

export function markChartData(): void {
  pendingSince ??= performance.now();
}

export function measureChartUpdate(): void {
  if (pendingSince === null) return;
  const start = pendingSince;
  pendingSince = null;
  if (++recorded > KEEP) {
    performance.clearMeasures('chart-update');
    recorded = 1;
  }
  performance.measure('chart-update', { start, end: performance.now() });
}
