// Bounded per-sensor series of one machine: seeded from history, appended from live updates.
import { SeriesRing, type SeriesSnapshot } from '../../lib/ringBuffer';
import { parseTime } from '../../lib/time';

/** What a chart needs from a twin or a `reported` change: the device time and the values. */
export interface LiveSample {
  ts?: string | null;
  readings?: Record<string, number>;
  quality?: string;
}

export class SeriesStore {
  readonly capacity: number;
  private readonly rings = new Map<string, SeriesRing>();
  private newest = Number.NEGATIVE_INFINITY;
  private received = Number.NEGATIVE_INFINITY;
  private quality: string | null = null;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Sensor names, sorted, so subplots keep their place. */
  sensors(): string[] {
    return [...this.rings.keys()].sort();
  }

  get totalPoints(): number {
    let total = 0;
    for (const ring of this.rings.values()) total += ring.size;
    return total;
  }

  /** Device time (epoch ms) of the newest point, or -Infinity. */
  get latestTime(): number {
    return this.newest;
  }

  /** When the newest live point arrived (server clock, epoch ms), or -Infinity. */
  get lastReceivedAt(): number {
    return this.received;
  }

  /** Quality of the newest live update, or null before the first one. */
  get latestQuality(): string | null {
    return this.quality;
  }

  latestValue(sensor: string): number | undefined {
    return this.rings.get(sensor)?.lastValue;
  }

  snapshot(sensor: string): SeriesSnapshot {
    return this.rings.get(sensor)?.snapshot() ?? { x: [], y: [] };
  }

  /**
   * Seeds the series from history (ascending by ts). Live points that arrived while the history
   * was loading and are newer than it are kept after it; older duplicates are dropped.
   */
  loadHistory(items: ReadonlyArray<{ ts: string; sensor: string; value: number }>): void {
    const bySensor = new Map<string, Array<[number, number]>>();
    for (const item of items) {
      const time = parseTime(item.ts);
      if (!Number.isFinite(time) || !Number.isFinite(item.value)) continue;
      let points = bySensor.get(item.sensor);
      if (!points) bySensor.set(item.sensor, (points = []));
      points.push([time, item.value]);
    }
    for (const [sensor, points] of bySensor) {
      points.sort((a, b) => a[0] - b[0]);
      const previous = this.rings.get(sensor)?.snapshot();
      const ring = new SeriesRing(this.capacity);
      for (const [time, value] of points) ring.pushIfNewer(time, value);
      if (previous) {
        previous.x.forEach((time, i) => ring.pushIfNewer(time, previous.y[i] ?? Number.NaN));
      }
      this.rings.set(sensor, ring);
      this.newest = Math.max(this.newest, ring.lastTime);
    }
  }

  /** Appends one live sample received at `receivedAt`; returns whether any point was added. */
  append(update: LiveSample, receivedAt: number): boolean {
    if (!update.ts || !update.readings) return false;
    const time = parseTime(update.ts);
    if (!Number.isFinite(time)) return false;
    let added = false;
    for (const [sensor, value] of Object.entries(update.readings)) {
      if (!Number.isFinite(value)) continue;
      let ring = this.rings.get(sensor);
      if (!ring) this.rings.set(sensor, (ring = new SeriesRing(this.capacity)));
      if (ring.pushIfNewer(time, value)) added = true;
    }
    if (added) {
      this.newest = Math.max(this.newest, time);
      this.received = receivedAt;
      this.quality = update.quality ?? this.quality;
    }
    return added;
  }
}
