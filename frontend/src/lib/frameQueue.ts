// Spreads expensive UI updates (one chart redraw each) over animation frames: per frame, queued
// jobs run until a time budget is used, the rest wait for the next frame. A job queued again
// under the same key before it ran replaces the older one (only the newest state is drawn).

export interface FrameQueue {
  enqueue(key: string, job: () => void): void;
  cancel(key: string): void;
  readonly size: number;
}

export function createFrameQueue(
  budgetMs = 8,
  now: () => number = () => performance.now(),
): FrameQueue {
  const jobs = new Map<string, () => void>();
  let frame: number | null = null;

  const run = (): void => {
    frame = null;
    const start = now();
    for (const [key, job] of jobs) {
      jobs.delete(key);
      try {
        job();
      } catch (error) {
        console.error('frame job failed', error);
      }
      if (now() - start >= budgetMs) break;
    }
    if (jobs.size > 0) frame = requestAnimationFrame(run);
  };

  return {
    enqueue(key, job) {
      jobs.set(key, job);
      frame ??= requestAnimationFrame(run);
    },
    cancel(key) {
      jobs.delete(key);
    },
    get size() {
      return jobs.size;
    },
  };
}
