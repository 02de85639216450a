// A clock that re-renders its user every `intervalMs`, for ages and staleness. Every clock on the
// page with the same interval shares one timer whose tick is one job of the UI queue, and the
// users re-render synchronously inside that job (an external store, not state): the machine view
// and the connection badge re-render together in one frame, not each on its own timer, nor in a
// separate task after the frame.
import { useMemo, useSyncExternalStore } from 'react';
import { uiQueue } from '../lib/frameQueue';

interface Ticker {
  timer: ReturnType<typeof setInterval>;
  ticks: number;
  listeners: Set<() => void>;
}

const tickers = new Map<number, Ticker>();

function ticker(intervalMs: number): Ticker {
  let found = tickers.get(intervalMs);
  if (!found) {
    const listeners = new Set<() => void>();
    const tick = () => {
      created.ticks += 1;
      for (const notify of listeners) notify();
    };
    const created: Ticker = {
      ticks: 0,
      listeners,
      timer: setInterval(() => uiQueue.enqueue(`clock:${intervalMs}`, tick), intervalMs),
    };
    tickers.set(intervalMs, created);

    found = created;
  }
  return found;
}

/** Calls `listener` on every tick of the shared `intervalMs` clock (inside its UI-queue job). */
export function subscribeTicker(intervalMs: number, listener: () => void): () => void {
  const owner = ticker(intervalMs);
  owner.listeners.add(listener);
  return () => {
    owner.listeners.delete(listener);
    if (owner.listeners.size === 0) {
      clearInterval(owner.timer);
      tickers.delete(intervalMs);
    }
  };
}

export function useNow(intervalMs: number, now: () => number = Date.now): number {
  const [sub, get] = useMemo(
    () =>
      [
        (listener: () => void) => subscribeTicker(intervalMs, listener),
        () => tickers.get(intervalMs)?.ticks ?? 0,
      ] as const,
    [intervalMs],
  );
  const ticks = useSyncExternalStore(sub, get);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- a new reading per tick
  return useMemo(() => now(), [ticks, now]);
}
