// Coalesces many "something changed" signals into at most one callback per animation frame,
// optionally no more often than `minIntervalMs`. The callback runs as a job of the page's UI
// queue (`uiQueue`), so it never shares a frame with another heavy job (a chart redraw, another
// live view's render).
import { uiQueue, type FrameQueue } from './frameQueue';

export interface FrameScheduler {
  schedule(): void;
  cancel(): void;
}

let schedulers = 0;

export function createFrameScheduler(
  callback: () => void,
  minIntervalMs = 0,
  queue: FrameQueue = uiQueue,
): FrameScheduler {
  const key = `scheduler:${(schedulers += 1)}`;
  let queued = false;
  let delay: ReturnType<typeof setTimeout> | null = null;
  let lastRun = Number.NEGATIVE_INFINITY;

  const run = (): void => {
    queued = false;
    lastRun = Date.now();
    callback();
  };
  const enqueue = (): void => {
    queued = true;
    queue.enqueue(key, run);
  };

  return {
    schedule() {
      if (queued || delay !== null) return;
      const wait = lastRun + minIntervalMs - Date.now();
      if (wait > 0) {
        delay = setTimeout(() => {
          delay = null;
          enqueue();
        }, wait);
      } else {
        enqueue();
      }
    },
    cancel() {
      queue.cancel(key);
      if (delay !== null) clearTimeout(delay);
      queued = false;
      delay = null;
    },
  };
}
