// The fleet as the `twins` subscription delivers it: a snapshot replaces every twin, updates
// merge in; listeners are told at most once per animation frame, with a new array identity.
// The store also keeps the fleet's clock (ages, staleness): it is read on every notification,
// and `tick()` only notifies when no update did in the last second, so a live fleet renders once
// per update, not once more per clock tick.
import type { Twin } from '../../api/types';
import { createFrameScheduler, type FrameScheduler } from '../../lib/frame';
import type { TwinChange } from '../../realtime/messages';
import { applyTwinChanges } from '../../realtime/twinChanges';

export class FleetStore {
  private readonly twins = new Map<string, Twin>();
  private readonly listeners = new Set<() => void>();
  private readonly scheduler: FrameScheduler;
  private items: readonly Twin[] = [];
  /** Ids sorted, while the set of machines is unchanged. */
  private order: string[] | null = null;
  private dirty = false;
  private loaded = false;
  private now: number;
  private lastNotify = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: () => number = Date.now) {
    this.now = clock();
    this.scheduler = createFrameScheduler(() => this.notify());
  }

  /** The clock as of the last notification (epoch ms). */
  getNow = (): number => this.now;

  /** A clock tick: listeners hear of it unless an update notified them in the last `periodMs`. */
  tick(periodMs = 1000): void {
    if (Date.now() - this.lastNotify >= periodMs * 0.9) this.scheduler.schedule();
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Every twin, sorted by id; the same array until something changes. */
  getItems = (): readonly Twin[] => {
    if (this.dirty) {
      // Sorting happens only when machines come or go; an update keeps the order.
      if (this.order === null) {
        this.order = [...this.twins.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      }
      const items: Twin[] = [];
      for (const id of this.order) {
        const twin = this.twins.get(id);
        if (twin) items.push(twin);
      }
      this.items = items;
      this.dirty = false;
    }
    return this.items;
  };

  get(id: string): Twin | undefined {
    return this.twins.get(id);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  replaceAll(items: readonly Twin[]): void {
    this.twins.clear();
    for (const twin of items) this.twins.set(twin.id, twin);
    this.order = null;
    this.loaded = true;
    this.dirty = true;
    // A snapshot is shown at once, without waiting for a frame.
    this.notify();
  }

  applyChanges(changes: readonly TwinChange[]): void {
    const count = this.twins.size;
    const unknown = changes.filter((c) => !this.twins.has(c.id)).map((c) => c.id);
    if (applyTwinChanges(this.twins, changes).size === 0) return;
    // Machines came or went: the id order is rebuilt (a removal changes the count; an addition
    // shows as a previously unknown id now present, even if another machine went at once).
    if (this.twins.size !== count || unknown.some((id) => this.twins.has(id))) this.order = null;

    this.dirty = true;
    this.scheduler.schedule();
  }

  dispose(): void {
    this.scheduler.cancel();
    this.listeners.clear();
  }

  private notify(): void {
    this.now = this.clock();
    this.lastNotify = Date.now();
    for (const listener of this.listeners) listener();
  }
}
