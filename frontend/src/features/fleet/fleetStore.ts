// The fleet as the `twins` subscription delivers it: a snapshot replaces every twin, updates
// merge in. Two kinds of listeners:
// - the whole fleet (`subscribe`/`getItems`: counts, filters, sorting) is told at most once per
//   animation frame, with a new array identity;
// - each table row (`subscribeRow`/`getRow`: one machine as shown, its status and age) is told
//   when that machine changed, a few rows per frame (`ROWS_PER_FRAME`), so the DOM work of a 2 Hz
//   fleet update is spread over a few frames instead of landing in one.
// - the rows on screen (`subscribeShown`/`getShown`): the ids of the mounted rows, once they have
//   settled for `SHOWN_SETTLE_MS`. The fleet subscription leaves readings out (a projection, a
//   fifth of the bytes); a second subscription for these machines brings them in full, and
//   `coverRows` takes its snapshot. A row whose readings are not covered yet says so (`live`).
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

/** Rows on screen are asked for in full once the set of them has been still this long (ms). */
export const SHOWN_SETTLE_MS = 150;

/** One machine as a fleet row shows it; the same object until something visible changes. */
export interface RowView {
  twin: Twin;
  status: TwinStatus;
  /** Time since the machine last reported ("4 s"), or "—". */
  age: string;
  /** Its readings are current (streamed for the rows on screen, or just delivered whole). */
  live: boolean;
}

const sameIds = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((id, i) => id === b[i]);

export class FleetStore {
  private readonly twins = new Map<string, Twin>();
  private readonly listeners = new Set<() => void>();
  private readonly scheduler: FrameScheduler;
  private readonly rowListeners = new Map<string, Set<() => void>>();
  private readonly rowViews = new Map<string, RowView>();
  /** Rows with news not yet told (subscribed rows only). */
  private readonly dirtyRows = new Set<string>();
  private readonly rowScheduler: FrameScheduler;
  private readonly shownListeners = new Set<() => void>();
  private shown: readonly string[] = [];
  private shownTimer: ReturnType<typeof setTimeout> | null = null;
  /** Machines whose readings are current (see `RowView.live`). */
  private live = new Set<string>();
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
      this.shownChanged();
    }
    listeners.add(listener);
    return () => {
      const current = this.rowListeners.get(id);
      current?.delete(listener);
      if (current?.size === 0) {
        this.rowListeners.delete(id);
        this.rowViews.delete(id);
        this.dirtyRows.delete(id);
        this.shownChanged();
      }
    };
  }

  /** Tells `listener` when the rows on screen changed and settled. */
  subscribeShown = (listener: () => void): (() => void) => {
    this.shownListeners.add(listener);
    return () => this.shownListeners.delete(listener);
  };

  /** The ids of the rows on screen, sorted; the same array until they change. */
  getShown = (): readonly string[] => this.shown;

  /** Machine `id` as its row shows it (as of the row's last notification). */
  getRow(id: string): RowView | undefined {
    return this.rowViews.get(id) ?? this.refreshRow(id);
  }

  replaceAll(items: readonly Twin[]): void {
    this.twins.clear();
    for (const twin of items) this.twins.set(twin.id, twin);
    // Every twin just came whole: its readings are current until the rows subscription says
    // which ones stay so.
    this.live = new Set(this.twins.keys());
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

  /**
   * The snapshot of the rows subscription: whole twins of the machines on screen, whose readings
   * stream from now on (and no other machine's). Their rows are told at once.
   */
  coverRows(items: readonly Twin[]): void {
    const before = this.live;
    this.live = new Set(items.map((twin) => twin.id));
    this.replaceTwins(items);
    const told: Array<Set<() => void>> = [];
    for (const [id, listeners] of this.rowListeners) {
      if (before.has(id) === this.live.has(id) && !this.dirtyRows.has(id)) continue;
      this.dirtyRows.delete(id);
      const view = this.rowViews.get(id);
      if (this.refreshRow(id) !== view) told.push(listeners);
    }
    for (const listeners of told) for (const listener of listeners) listener();
  }

  applyChanges(changes: readonly TwinChange[]): void {
    const count = this.twins.size;
    const unknown = changes.filter((c) => !this.twins.has(c.id)).map((c) => c.id);
    this.commit(applyTwinChanges(this.twins, changes), count, unknown);
  }

  /** Whole twins of a snapshot replace the ones held. */
  private replaceTwins(items: readonly Twin[]): void {
    const count = this.twins.size;
    const unknown = items.filter((twin) => !this.twins.has(twin.id)).map((twin) => twin.id);
    for (const twin of items) this.twins.set(twin.id, twin);
    this.commit(new Set(items.map((twin) => twin.id)), count, unknown);
  }

  private commit(changed: ReadonlySet<string>, count: number, unknown: readonly string[]): void {
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
    if (this.shownTimer !== null) clearTimeout(this.shownTimer);
    this.shownTimer = null;
    this.listeners.clear();
    this.rowListeners.clear();
    this.shownListeners.clear();
  }

  /** Rows came or went: the shown ids are published once they have been still a moment. */
  private shownChanged(): void {
    if (this.shownTimer !== null) clearTimeout(this.shownTimer);
    this.shownTimer = setTimeout(() => {
      this.shownTimer = null;
      const next = [...this.rowListeners.keys()].sort();
      if (sameIds(next, this.shown)) return;
      this.shown = next;
      for (const listener of this.shownListeners) listener();
    }, SHOWN_SETTLE_MS);
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
    const live = this.live.has(id);
    const before = this.rowViews.get(id);
    if (
      before &&
      before.twin === twin &&
      before.status === status &&
      before.age === age &&
      before.live === live
    ) {
      return before;
    }
    const view: RowView = { twin, status, age, live };
    this.rowViews.set(id, view);
    return view;
  }

  private notify(): void {
    this.now = this.clock();
    this.lastNotify = Date.now();
    for (const listener of this.listeners) listener();
  }
}
