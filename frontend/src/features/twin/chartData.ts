// Pure helpers that shape series for the chart (kept apart from Plotly so they test in jsdom).
import type { SeriesSnapshot } from '../../lib/ringBuffer';
import { parseTime } from '../../lib/time';

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

/** A sensor's typical range, drawn as a shaded band behind its trace. */
export interface Band {
  lo: number;
  hi: number;
}

/**
 * The typical range of a series: median ± 3 robust standard deviations (1.4826 · MAD). The API
 * exposes no operating limits per machine type yet, so the band is learned from the data shown.
 * Null with fewer than `minPoints` points.
 */
export function typicalBand(values: readonly number[], minPoints = 20): Band | null {
  const finite = values.filter(Number.isFinite);
  if (finite.length < minPoints) return null;
  const sorted = [...finite].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const deviations = sorted.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
  const sigma = 1.4826 * quantile(deviations, 0.5);
  // A flat signal still gets a visible band.
  const spread = Math.max(3 * sigma, Math.abs(median) * 0.01, 1e-6);
  return { lo: median - spread, hi: median + spread };
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const low = sorted[below] ?? 0;
  const high = sorted[Math.min(sorted.length - 1, below + 1)] ?? low;
  return low + (high - low) * (position - below);
}

export interface Episode {
  /** Epoch ms. */
  start: number;
  end: number;
  /** Still open at `now`. */
  open: boolean;
  peak: number;
  sensors: string[];
}

interface EpisodeEvent {
  ts: string;
  kind: string;
  started_at: string;
  peak_score: number;
  explanation: Array<Record<string, unknown>>;
}

/** Anomaly episodes (start … resolved) from anomaly events, oldest first; open ones end at `now`. */
export function anomalyEpisodes(events: readonly EpisodeEvent[], now: number): Episode[] {
  const byStart = new Map<string, Episode>();
  for (const event of events) {
    const start = parseTime(event.started_at);
    if (!Number.isFinite(start)) continue;
    const ts = parseTime(event.ts);
    let episode = byStart.get(event.started_at);
    if (!episode) {
      episode = { start, end: now, open: true, peak: 0, sensors: [] };
      byStart.set(event.started_at, episode);
    }
    episode.peak = Math.max(episode.peak, event.peak_score);
    for (const item of event.explanation) {
      if (typeof item.sensor === 'string' && !episode.sensors.includes(item.sensor)) {
        episode.sensors.push(item.sensor);
      }
    }
    if (event.kind === 'resolved' && Number.isFinite(ts)) {
      episode.end = ts;
      episode.open = false;
    }
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}
