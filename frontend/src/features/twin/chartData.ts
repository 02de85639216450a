// Pure helpers that shape series for the chart (kept apart from Plotly so they test in jsdom).
import type { SeriesSnapshot } from '../../lib/ringBuffer';
import { parseCondition } from '../../lib/alarms';
import { parseTime } from '../../lib/time';

/** A pause in the data longer than this is drawn as a break, not a straight line across it. */
export const GAP_MS = 10_000;

/**
 * Inserts a null point into every gap longer than `gapMs` so Plotly breaks the line there (history
 * charts pass a longer one: their points are a bucket or a pixel column apart).
 */
export function withGaps(
  points: SeriesSnapshot,
  gapMs = GAP_MS,
): { x: number[]; y: Array<number | null> } {
  const x: number[] = [];
  const y: Array<number | null> = [];
  for (let i = 0; i < points.x.length; i += 1) {
    const time = points.x[i] ?? 0;
    const previous = points.x[i - 1];
    if (previous !== undefined && time - previous > gapMs) {
      x.push(previous + 1);
      y.push(null);
    }
    x.push(time);
    y.push(points.y[i] ?? null);
  }
  return { x, y };
}

/** The lowest and highest value of each pixel column of a min/max series: the band drawn behind it. */
export interface Envelope {
  x: number[];
  lo: number[];
  hi: number[];
}

/**
 * The min/max envelope of a series downsampled to `columns` columns of equal time (as the server's
 * min/max method bins it; a bucket's min and max, sent 1 ms apart, stay together): per non-empty
 * column its first time, lowest and highest value. Null with fewer than two points.
 */
export function minMaxEnvelope(points: SeriesSnapshot, columns: number): Envelope | null {
  const n = points.x.length;
  const first = points.x[0];
  const last = points.x[n - 1];
  if (n < 2 || first === undefined || last === undefined || !(last > first)) return null;
  const size = (last - first) / Math.max(1, columns);
  const envelope: Envelope = { x: [], lo: [], hi: [] };
  let column = -1;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i += 1) {
    const time = points.x[i] ?? first;
    const value = points.y[i];
    if (value === undefined || !Number.isFinite(value)) continue;
    const c = Math.min(columns - 1, Math.floor((time - first) / size));
    const end = envelope.x.length - 1;
    // A bucket's extremes come 1 ms apart: one column even where a column edge falls between them.
    const sameBucket = time - previous <= 1;
    previous = time;
    if ((c !== column && !sameBucket) || end < 0) {
      column = c;
      envelope.x.push(time);
      envelope.lo.push(value);
      envelope.hi.push(value);
    } else {
      envelope.lo[end] = Math.min(envelope.lo[end] ?? value, value);
      envelope.hi[end] = Math.max(envelope.hi[end] ?? value, value);
    }
  }
  return envelope;
}

/**
 * The y range of a chart: the data with a margin, widened to show an edge of the band when the
 * data comes within one data span of it (far inside the band, the whole plot is shaded), and kept
 * as it was while the data stays inside it and still fills a third of it, so the axis does not
 * twitch with every sample. Null when there is nothing to show.
 */
export function stickyRange(
  previous: [number, number] | null,
  values: ReadonlyArray<number | null>,
  band?: Band | null,
): [number, number] | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value === null || !Number.isFinite(value)) continue;
    if (value < lo) lo = value;
    if (value > hi) hi = value;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return previous;
  const data = hi - lo || Math.max(Math.abs(hi) * 0.02, 1);
  if (band) {
    if (lo - band.lo <= data) lo = Math.min(lo, band.lo);
    if (band.hi - hi <= data) hi = Math.max(hi, band.hi);
  }
  const span = hi - lo || data;
  if (previous) {
    const [from, to] = previous;
    if (from <= lo && hi <= to && span >= (to - from) / 3) return previous;
  }
  const pad = span * 0.1;
  return [lo - pad, hi + pad];
}

/**
 * The live chart's time axis: `windowMs` ending at the next full step after the newest sample.
 * It moves once per step, so in between a new sample only moves the trace, not the axes. Null
 * before the first sample.
 */
export function liveWindow(
  latest: number,
  windowMs: number,
  stepMs = 60_000,
): [number, number] | null {
  if (!Number.isFinite(latest)) return null;
  const edge = (Math.floor(latest / stepMs) + 1) * stepMs;
  return [edge - windowMs, edge];
}

/** A sensor's normal range, drawn as a shaded band behind its trace. */

export interface Band {
  lo: number;
  hi: number;
}

/**
 * The band per sensor: the machine type's operating range where its profile has one, else the
 * range learned from the data shown (`learned`, computed only for the sensors that need it).
 * Returns the bands and whether any of them was learned.
 */
export function operatingBands(
  sensors: readonly string[],
  profile: ReadonlyArray<{ name: string; lo: number; hi: number }> | undefined,
  learned: (sensor: string) => Band | null,
): { bands: Map<string, Band>; learnedAny: boolean } {
  const ranges = new Map((profile ?? []).map((s) => [s.name, { lo: s.lo, hi: s.hi }]));
  const bands = new Map<string, Band>();
  let learnedAny = false;
  for (const sensor of sensors) {
    const range = ranges.get(sensor);
    if (range) {
      bands.set(sensor, range);
      continue;
    }
    const band = learned(sensor);
    if (band) {
      bands.set(sensor, band);
      learnedAny = true;
    }
  }
  return { bands, learnedAny };
}

/**
 * The typical range of a series: median ± 3 robust standard deviations (1.4826 · MAD), for
 * sensors whose machine type has no operating range registered.
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

/** A threshold alarm of one sensor, for the markers on its chart. */
export interface AlarmMark {
  id: number;
  /** Epoch ms of raised_at. */
  start: number;
  /** Epoch ms of cleared_at; null while the condition is still there. */
  end: number | null;
  priority: string;
}

interface MarkedAlarm {
  id: number;
  condition: string;
  priority: string;
  raised_at: string;
  cleared_at?: string | null;
}

/**
 * The machine's alarms per sensor (their condition is `<kind>:<sensor>`), oldest first; alarms of
 * other conditions (`anomaly`, `offline`) belong to no sensor.
 */
export function alarmMarks(alarms: readonly MarkedAlarm[]): Map<string, AlarmMark[]> {
  const marks = new Map<string, AlarmMark[]>();
  for (const alarm of alarms) {
    const condition = parseCondition(alarm.condition);
    const start = parseTime(alarm.raised_at);
    if (!condition || !Number.isFinite(start)) continue;
    const cleared = alarm.cleared_at ? parseTime(alarm.cleared_at) : Number.NaN;
    const mark = {
      id: alarm.id,
      start,
      end: Number.isFinite(cleared) ? cleared : null,
      priority: alarm.priority,
    };
    const list = marks.get(condition.sensor);
    if (list) list.push(mark);
    else marks.set(condition.sensor, [mark]);
  }
  for (const list of marks.values()) list.sort((a, b) => a.start - b.start || a.id - b.id);
  return marks;
}

/** An alarm as drawn on a chart: its span within the range, and which of its edges are in it. */
export interface DrawnMark {
  id: number;
  priority: string;
  /** The part of the alarm inside the range (shaded). */
  from: number;
  to: number;
  /** Raised inside the range: a solid line there. */
  raised: number | null;
  /** Cleared inside the range: a dashed line there. */
  cleared: number | null;
}

/**
 * The marks inside a chart's range, clipped to it (so they never widen an autoscaled axis); an
 * alarm still active runs to the range's end. Nothing without a range.
 */
export function marksInRange(
  marks: readonly AlarmMark[] | undefined,
  range: readonly [number, number] | null,
): DrawnMark[] {
  if (!marks || !range) return [];
  const [lo, hi] = range;
  const drawn: DrawnMark[] = [];
  for (const mark of marks) {
    const end = mark.end ?? Number.POSITIVE_INFINITY;
    if (mark.start > hi || end < lo) continue;
    drawn.push({
      id: mark.id,
      priority: mark.priority,
      from: Math.max(mark.start, lo),
      to: Math.min(end, hi),
      raised: mark.start >= lo ? mark.start : null,
      cleared: mark.end !== null && mark.end <= hi ? mark.end : null,
    });
  }
  return drawn;
}
