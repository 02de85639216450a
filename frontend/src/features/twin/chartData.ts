// Pure helpers that shape series for the chart (kept apart from Plotly so they test in jsdom).
import type { SeriesSnapshot } from '../../lib/ringBuffer';

/** A pause in the data longer than this is drawn as a break, not a straight line across it. */
export const GAP_MS = 10_000;

/** Inserts a null point into every gap longer than GAP_MS so Plotly breaks the line there. */
export function withGaps(points: SeriesSnapshot): { x: number[]; y: Array<number | null> } {
  const x: number[] = [];
  const y: Array<number | null> = [];
  for (let i = 0; i < points.x.length; i += 1) {
    const time = points.x[i] ?? 0;
    const previous = points.x[i - 1];
    if (previous !== undefined && time - previous > GAP_MS) {
      x.push(previous + 1);
      y.push(null);
    }
    x.push(time);
    y.push(points.y[i] ?? null);
  }
  return { x, y };
}
