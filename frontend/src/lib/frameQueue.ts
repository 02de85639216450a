// Spreads expensive UI updates (a React render of the fleet, a chart redraw) over animation
// frames: per frame, queued jobs run until a time budget is used, the rest wait for the next
// frame. A job queued again under the same key before it ran replaces the older one (only the
// newest state is drawn). A job may return a promise (a chart redraw that Plotly finishes over
// the next frames): the queue then starts nothing else until it settles, so two heavy jobs never
// share a frame. Other heavy main-thread work (parsing and merging a large WebSocket message) is
// reported with `noteWork`: a job due within a frame interval of it waits one frame, so the work
// and the render it causes land in different frames.

export interface FrameQueue {
  enqueue(key: string, job: () => unknown): void;
  cancel(key: string): void;
  /** Main-thread work done outside the queue, from `start` to `end` (performance.now()). */
  noteWork(start: number, end: number): void;
  readonly size: number;
}

/** One frame at 60 Hz. */
const FRAME_MS = 1000 / 60;
/** Jobs never wait more frames than this for outside work to be a frame behind. */
const MAX_DEFERRALS = 3;

/** A job's promise that has not settled after this long no longer holds the queue. */
const MAX_WAIT_MS = 250;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function createFrameQueue(
  budgetMs = 8,
  now: () => number = () => performance.now(),
  /** Outside work shorter than this does not delay the queue. */
  heavyMs = Number.POSITIVE_INFINITY,
): FrameQueue {
  const jobs = new Map<string, () => unknown>();
  let frame: number | null = null;
  let waiting = false;
  let deferred = 0;
  let workEnd = Number.NEGATIVE_INFINITY;

  const request = (): void => {
    if (!waiting && frame === null && jobs.size > 0) frame = requestAnimationFrame(run);
  };

  const wait = (pending: PromiseLike<unknown>): void => {
    waiting = true;
    let done = false;
    const resume = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      waiting = false;
      request();
    };
    const timer = setTimeout(resume, MAX_WAIT_MS);
    pending.then(resume, (error: unknown) => {
      console.error('frame job failed', error);
      resume();
    });
  };

  const run = (): void => {
    frame = null;
    const start = now();
    // Work noted outside the queue just now: wait until a frame interval has passed since
    // (frames may come sooner than that after a late one), at most a few frames.
    if (deferred < MAX_DEFERRALS && start - workEnd < FRAME_MS) {
      deferred += 1;
      request();
      return;
    }
    deferred = 0;
    for (const [key, job] of jobs) {
      jobs.delete(key);
      let result: unknown;
      try {
        result = job();
      } catch (error) {
        console.error('frame job failed', error);
      }
      if (isThenable(result)) {
        wait(result);
        return;
      }
      if (now() - start >= budgetMs) break;
    }
    request();
  };

  return {
    enqueue(key, job) {
      jobs.set(key, job);
      request();
    },
    cancel(key) {
      jobs.delete(key);
      // Nothing left to run: no frame needs to be requested (nor stays pending across a test's
      // fake timers).
      if (jobs.size === 0 && frame !== null) {
        cancelAnimationFrame(frame);
        frame = null;
      }
    },
    noteWork(start, end) {
      if (end - start >= heavyMs) workEnd = Math.max(workEnd, end);
    },
    get size() {
      return jobs.size;
    },
  };
}

/**
 * The page's one queue of heavy UI work: React renders driven by live data and the clock, and
 * chart redraws. One job per frame, so a fleet render and a chart redraw never add up in one.
 */
export const uiQueue = createFrameQueue(0, () => performance.now(), 2);
