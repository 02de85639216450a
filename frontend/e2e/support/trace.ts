// Main-thread work per animation frame from a Chromium trace (CDP Tracing): every task on the
// renderer's main thread is attributed to the frame in which it started (frames delimited by
// BeginMainThreadFrame), and the per-frame sums are summarised.
import type { Page } from '@playwright/test';

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string };
}

export interface FrameWork {
  frames: number;
  p50: number;
  p95: number;
  max: number;
  /** Tasks over 50 ms (long tasks) during the window. */
  longTasks: number;
  /** Share of the window the main thread was busy. */
  busy: number;
}

export async function traceMainThread(page: Page, windowMs: number): Promise<FrameWork> {
  const cdp = await page.context().newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', ({ value }) =>
    events.push(...(value as unknown as TraceEvent[])),
  );
  const complete = new Promise<void>((resolve) =>
    cdp.once('Tracing.tracingComplete', () => resolve()),
  );
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: {
      includedCategories: [
        'devtools.timeline',
        'disabled-by-default-devtools.timeline',
        'disabled-by-default-devtools.timeline.frame',
      ],
    },
  });
  await page.waitForTimeout(windowMs);
  await cdp.send('Tracing.end');
  await complete;
  await cdp.detach();
  return summarise(events, windowMs);
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function summarise(events: readonly TraceEvent[], windowMs: number): FrameWork {
  const mainThreads = events.filter(
    (e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain',
  );
  // The page's renderer main thread is the one with the most task time.
  let best: { pid: number; tid: number; total: number } | null = null;
  for (const thread of mainThreads) {
    const total = events
      .filter((e) => e.pid === thread.pid && e.tid === thread.tid && e.name === 'RunTask')
      .reduce((sum, e) => sum + (e.dur ?? 0), 0);
    if (!best || total > best.total) best = { pid: thread.pid, tid: thread.tid, total };
  }
  if (!best) return { frames: 0, p50: NaN, p95: NaN, max: NaN, longTasks: 0, busy: NaN };
  const { pid, tid } = best;
  const onMain = events.filter((e) => e.pid === pid && e.tid === tid);
  const tasks = onMain.filter((e) => e.name === 'RunTask' && e.ph === 'X');
  const frames = onMain
    .filter((e) => e.name === 'BeginMainThreadFrame')
    .map((e) => e.ts)
    .sort((a, b) => a - b);
  const perFrame: number[] = new Array<number>(Math.max(0, frames.length - 1)).fill(0);
  for (const task of tasks) {
    // Binary search the frame the task started in.
    let lo = 0;
    let hi = frames.length - 1;
    if (hi < 1 || task.ts < (frames[0] ?? 0) || task.ts >= (frames[hi] ?? 0)) continue;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((frames[mid] ?? 0) <= task.ts) lo = mid;
      else hi = mid;
    }
    perFrame[lo] = (perFrame[lo] ?? 0) + (task.dur ?? 0) / 1000;
  }
  const busyMs = tasks.reduce((sum, e) => sum + (e.dur ?? 0), 0) / 1000;
  return {
    frames: perFrame.length,
    p50: quantile(perFrame, 0.5),
    p95: quantile(perFrame, 0.95),
    max: Math.max(...perFrame),
    longTasks: tasks.filter((e) => (e.dur ?? 0) > 50_000).length,
    busy: busyMs / windowMs,
  };
}
