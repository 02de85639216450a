// Coalesces many "something changed" signals into at most one callback per animation frame,
// optionally no more often than `minIntervalMs`.

export interface FrameScheduler {
  schedule(): void;
  cancel(): void;
}

type FrameHandle =
  { kind: 'raf'; id: number } | { kind: 'timeout'; id: ReturnType<typeof setTimeout> };

function requestFrame(callback: () => void): FrameHandle {
  if (typeof requestAnimationFrame === 'function') {
    return { kind: 'raf', id: requestAnimationFrame(() => callback()) };
  }
  return { kind: 'timeout', id: setTimeout(callback, 16) };
}

function cancelFrame(handle: FrameHandle): void {
  if (handle.kind === 'raf') cancelAnimationFrame(handle.id);
  else clearTimeout(handle.id);
}

export function createFrameScheduler(callback: () => void, minIntervalMs = 0): FrameScheduler {
  let frame: FrameHandle | null = null;
  let delay: ReturnType<typeof setTimeout> | null = null;
  let lastRun = Number.NEGATIVE_INFINITY;

  const run = (): void => {
    frame = null;
    lastRun = Date.now();
    callback();
  };

  return {
    schedule() {
      if (frame !== null || delay !== null) return;
      const wait = lastRun + minIntervalMs - Date.now();
      if (wait > 0) {
        delay = setTimeout(() => {
          delay = null;
          frame = requestFrame(run);
        }, wait);
      } else {
        frame = requestFrame(run);
      }
    },
    cancel() {
      if (frame !== null) cancelFrame(frame);
      if (delay !== null) clearTimeout(delay);
      frame = null;
      delay = null;
    },
  };
}
