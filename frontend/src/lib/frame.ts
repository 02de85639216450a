// Coalesces many "something changed" signals into at most one callback per animation frame: the
// callback is a keyed job of the page's UI queue (`uiQueue`), so signals before it runs merge into
// one run, and it never shares a frame with another heavy job (a chart redraw, another live
// view's render).
import { uiQueue } from './frameQueue';

export interface FrameScheduler {
  schedule(): void;
  cancel(): void;
}

let schedulers = 0;

export function createFrameScheduler(callback: () => void): FrameScheduler {
  const key = `scheduler:${(schedulers += 1)}`;
  return {
    schedule: () => uiQueue.enqueue(key, callback),
    cancel: () => uiQueue.cancel(key),
  };
}
