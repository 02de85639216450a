// Fixed-capacity numeric time series: O(1) append, oldest points overwritten, no allocation per
// point. Used to keep live chart series bounded.

export interface SeriesSnapshot {
  /** Epoch milliseconds, ascending. */
  x: number[];
  y: number[];
}

export class SeriesRing {
  readonly capacity: number;
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  /** Index of the oldest point. */
  private start = 0;
  private length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  /** Time of the newest point, or -Infinity when empty. */
  get lastTime(): number {
    if (this.length === 0) return Number.NEGATIVE_INFINITY;
    return this.times[(this.start + this.length - 1) % this.capacity] ?? Number.NEGATIVE_INFINITY;
  }

  get lastValue(): number | undefined {
    if (this.length === 0) return undefined;
    return this.values[(this.start + this.length - 1) % this.capacity];
  }

  /** Appends a point; when full, the oldest point is dropped. */
  push(time: number, value: number): void {
    if (this.length < this.capacity) {
      const index = (this.start + this.length) % this.capacity;
      this.times[index] = time;
      this.values[index] = value;
      this.length += 1;
    } else {
      this.times[this.start] = time;
      this.values[this.start] = value;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /**
   * Appends a point only if it is newer than the newest one, so replayed or duplicated messages
   * cannot make the series go back in time. Returns whether it was appended.
   */
  pushIfNewer(time: number, value: number): boolean {
    if (!(time > this.lastTime)) return false;
    this.push(time, value);
    return true;
  }

  clear(): void {
    this.start = 0;
    this.length = 0;
  }

  /** Copies the points, oldest first. */
  snapshot(): SeriesSnapshot {
    const x = new Array<number>(this.length);
    const y = new Array<number>(this.length);
    for (let i = 0; i < this.length; i += 1) {
      const index = (this.start + i) % this.capacity;
      x[i] = this.times[index] ?? 0;
      y[i] = this.values[index] ?? 0;
    }
    return { x, y };
  }
}
