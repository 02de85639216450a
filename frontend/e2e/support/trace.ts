// Main-thread work per animation frame from a Chromium trace (CDP Tracing). A frame's work is the
// whole main-thread task in which it began (BeginMainThreadFrame: rAF callbacks, style, layout,
// paint) plus the other main-thread work in the 16.7 ms slot before it (message handlers, timers,
// React renders that had to finish first). Over 16.7 ms, the frame could not have made its vsync.
// The previous frame's own task is not counted again in the next frame's slot (it is that frame's
// work). Two figures per frame: wall-clock time (`dur`: what the user waits, including time the
// main thread was descheduled or blocked on the compositor) and main-thread CPU time (`tdur`).
import type { Page } from '@playwright/test';

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread (CPU) time of a complete event, µs. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string };
}

export interface FrameWork {
  frames: number;
  /** Wall-clock work per frame, ms. */
  p50: number;
  p95: number;
  max: number;
  /** Main-thread CPU time per frame, ms. */
  cpuP50: number;
  cpuP95: number;
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
  if (!best) {
    return {
      frames: 0,
      p50: NaN,
      p95: NaN,
      max: NaN,
      cpuP50: NaN,
      cpuP95: NaN,
      longTasks: 0,
      busy: NaN,
    };
  }
  const { pid, tid } = best;
  const onMain = events.filter((e) => e.pid === pid && e.tid === tid);
  const tasks = onMain.filter((e) => e.name === 'RunTask' && e.ph === 'X');
  const frames = onMain
    .filter((e) => e.name === 'BeginMainThreadFrame')
    .map((e) => e.ts)
    .sort((a, b) => a - b);
  const SLOT = 16_667; // µs
  const frameTasks = new Set<TraceEvent>();
  for (const frame of frames) {
    for (const task of tasks) {
      if (task.ts <= frame && frame < task.ts + (task.dur ?? 0)) frameTasks.add(task);
    }
  }
  const perFrame: number[] = [];
  const cpuPerFrame: number[] = [];
  for (const frame of frames) {
    let work = 0;
    let cpu = 0;
    for (const task of tasks) {
      const dur = task.dur ?? 0;
      const end = task.ts + dur;
      // Share of the task's wall time the thread was on a CPU.
      const onCpu = dur > 0 ? Math.min(1, (task.tdur ?? dur) / dur) : 1;
      let part = 0;
      if (task.ts <= frame && frame < end) {
        part = dur; // the frame's own task, whole
      } else if (end > frame - SLOT && task.ts < frame && !frameTasks.has(task)) {
        part = Math.min(end, frame) - Math.max(task.ts, frame - SLOT);
      }
      work += part;
      cpu += part * onCpu;
    }
    perFrame.push(work / 1000);
    cpuPerFrame.push(cpu / 1000);
  }
  const busyMs = tasks.reduce((sum, e) => sum + (e.dur ?? 0), 0) / 1000;
  return {
    frames: perFrame.length,
    p50: quantile(perFrame, 0.5),
    p95: quantile(perFrame, 0.95),
    max: Math.max(...perFrame),
    cpuP50: quantile(cpuPerFrame, 0.5),
    cpuP95: quantile(cpuPerFrame, 0.95),
    longTasks: tasks.filter((e) => (e.dur ?? 0) > 50_000).length,
    busy: busyMs / windowMs,
  };
}
