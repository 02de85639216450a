// The fleet as the `twins` subscription delivers it: a snapshot replaces every twin, updates
// merge in. Two kinds of listeners:
// - the whole fleet (`subscribe`/`getItems`: counts, filters, sorting) is told at most once per
//   animation frame, with a new array identity;
// - each table row (`subscribeRow`/`getRow`: one machine as shown, its status and age) is told
//   when that machine changed, a few rows per frame (`ROWS_PER_FRAME`), so the DOM work of a 2 Hz
//   fleet update is spread over a few frames instead of landing in one.
// The store also keeps the fleet's clock (ages, staleness): it is read on every notification,
// and `tick()` only notifies the fleet when no update did in the last second, so a live fleet
// renders once per update, not once more per clock tick. Rows re-read the clock when flushed.
import type { Twin, TwinStatus } from '../../api/types';
import { createFrameScheduler, type FrameScheduler } from '../../lib/frame';
import { formatAge } from '../../lib/format';
import { effectiveStatus, lastSeenOf } from '../../lib/status';
import type { TwinChange } from '../../realtime/messages';
import { applyTwinChanges } from '../../realtime/twinChanges';

/** Rows re-rendered per animation frame: a screenful of changed rows (about 25) takes 5 frames. */
export const ROWS_PER_FRAME = 5;

/** One machine as a fleet row shows it; the same object until something visible changes. */
export interface RowView {
  twin: Twin;
  status: TwinStatus;
  /** Time since the machine last reported ("4 s"), or "—". */
  age: string;
}

export class FleetStore {
  private readonly twins = new Map<string, Twin>();
  private readonly listeners = new Set<() => void>();
  private readonly scheduler: FrameScheduler;
  private readonly rowListeners = new Map<string, Set<() => void>>();
  private readonly rowViews = new Map<string, RowView>();
  /** Rows with news not yet told (subscribed rows only). */
  private readonly dirtyRows = new Set<string>();
  private readonly rowScheduler: FrameScheduler;
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
    this.rowScheduler = createFrameScheduler(() => this.flushRows());
  }

  /** The clock as of the last notification (epoch ms). */
  getNow = (): number => this.now;

  /** A clock tick: listeners hear of it unless an update notified them in the last `periodMs`. */
  tick(periodMs = 1000): void {
    if (Date.now() - this.lastNotify >= periodMs * 0.9) this.scheduler.schedule();
    // Every shown row's age moves with the clock.
    for (const id of this.rowListeners.keys()) this.dirtyRows.add(id);
    if (this.dirtyRows.size > 0) this.rowScheduler.schedule();
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

  /** Tells `listener` when machine `id`'s row view changes (a few rows per frame). */
  subscribeRow(id: string, listener: () => void): () => void {
    let listeners = this.rowListeners.get(id);
    if (!listeners) {
      listeners = new Set();
      this.rowListeners.set(id, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.rowListeners.get(id);
      current?.delete(listener);
      if (current?.size === 0) {
        this.rowListeners.delete(id);
        this.rowViews.delete(id);
        this.dirtyRows.delete(id);
      }
    };
  }

  /** Machine `id` as its row shows it (as of the row's last notification). */
  getRow(id: string): RowView | undefined {
    return this.rowViews.get(id) ?? this.refreshRow(id);
  }

  replaceAll(items: readonly Twin[]): void {
    this.twins.clear();
    for (const twin of items) this.twins.set(twin.id, twin);
    this.order = null;
    this.loaded = true;
    this.dirty = true;
    // A snapshot is shown at once, without waiting for a frame: every row too.
    this.dirtyRows.clear();
    this.rowScheduler.cancel();
    for (const id of this.rowListeners.keys()) this.refreshRow(id);
    this.notify();
    for (const listeners of this.rowListeners.values())
      for (const listener of listeners) listener();
  }

  applyChanges(changes: readonly TwinChange[]): void {
    const count = this.twins.size;
    const unknown = changes.filter((c) => !this.twins.has(c.id)).map((c) => c.id);
    const changed = applyTwinChanges(this.twins, changes);
    if (changed.size === 0) return;
    for (const id of changed) if (this.rowListeners.has(id)) this.dirtyRows.add(id);
    if (this.dirtyRows.size > 0) this.rowScheduler.schedule();
    // Machines came or went: the id order is rebuilt (a removal changes the count; an addition
    // shows as a previously unknown id now present, even if another machine went at once).
    if (this.twins.size !== count || unknown.some((id) => this.twins.has(id))) this.order = null;

    this.dirty = true;
    this.scheduler.schedule();
  }

  dispose(): void {
    this.scheduler.cancel();
    this.rowScheduler.cancel();
    this.listeners.clear();
    this.rowListeners.clear();
  }

  /** Tells the next few changed rows (in the order they were first shown), then queues the rest. */
  private flushRows(): void {
    const told: Array<Set<() => void>> = [];
    for (const [id, listeners] of this.rowListeners) {
      if (told.length >= ROWS_PER_FRAME) break;
      if (!this.dirtyRows.delete(id)) continue;
      const before = this.rowViews.get(id);
      if (this.refreshRow(id) !== before) told.push(listeners);
    }
    if (this.dirtyRows.size > 0) this.rowScheduler.schedule();
    for (const listeners of told) for (const listener of listeners) listener();
  }

  /** Recomputes a row's view with the clock now; keeps the old object if nothing shown changed. */
  private refreshRow(id: string): RowView | undefined {
    const twin = this.twins.get(id);
    if (!twin) {
      this.rowViews.delete(id);
      return undefined;
    }
    const now = this.clock();
    const status = effectiveStatus(twin, now);
    const age = twin.last_seen ? formatAge(now - lastSeenOf(twin)) : '—';
    const before = this.rowViews.get(id);
    if (before && before.twin === twin && before.status === status && before.age === age) {
      return before;
    }
    const view: RowView = { twin, status, age };
    this.rowViews.set(id, view);
    return view;
  }

  private notify(): void {
    this.now = this.clock();
    this.lastNotify = Date.now();
    for (const listener of this.listeners) listener();
  }
}
