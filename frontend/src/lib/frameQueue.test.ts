import { createFrameQueue } from './frameQueue';

describe('createFrameQueue', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('runs jobs within a per-frame budget and keeps only the newest job per key', () => {
    let clock = 0;
    const queue = createFrameQueue(8, () => clock);
    const ran: string[] = [];
    const job = (name: string, cost: number) => () => {
      ran.push(name);
      clock += cost;
    };
    queue.enqueue('a', job('a1', 5));
    queue.enqueue('b', job('b', 5));
    queue.enqueue('c', job('c', 5));
    queue.enqueue('a', job('a2', 5));
    expect(queue.size).toBe(3);
    vi.advanceTimersToNextFrame();
    // a2 (5 ms) and b (10 ms in total) ran; the budget of 8 ms is used, c waits a frame.
    expect(ran).toEqual(['a2', 'b']);
    vi.advanceTimersToNextFrame();
    expect(ran).toEqual(['a2', 'b', 'c']);
    expect(queue.size).toBe(0);
  });

  it('starts nothing else until a job that returned a promise settles', async () => {
    const queue = createFrameQueue(100, () => 0);
    const ran: string[] = [];
    let finish: () => void = () => undefined;
    queue.enqueue('chart', () => {
      ran.push('chart');
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    queue.enqueue('fleet', () => ran.push('fleet'));
    vi.advanceTimersToNextFrame();
    vi.advanceTimersToNextFrame();
    // Plotly is still drawing the chart: the fleet render waits, even with budget left.
    expect(ran).toEqual(['chart']);
    finish();
    await Promise.resolve();
    await Promise.resolve();
    vi.advanceTimersToNextFrame();
    expect(ran).toEqual(['chart', 'fleet']);
  });

  it('waits a frame after heavy work outside the queue, never more than a few frames', () => {
    let clock = 1000;
    const queue = createFrameQueue(0, () => clock, 2);
    const ran: string[] = [];
    // A large WebSocket message took 6 ms and ended now.
    queue.noteWork(clock - 6, clock);
    queue.enqueue('fleet', () => ran.push('fleet'));
    clock += 5;
    vi.advanceTimersToNextFrame();
    expect(ran).toEqual([]);
    clock += 12;
    vi.advanceTimersToNextFrame();
    expect(ran).toEqual(['fleet']);
    // Light work (under 2 ms) does not delay anything.
    queue.noteWork(clock - 1, clock);
    queue.enqueue('fleet', () => ran.push('fleet again'));
    vi.advanceTimersToNextFrame();
    expect(ran).toEqual(['fleet', 'fleet again']);
    // Heavy work that keeps coming delays a job at most three frames.
    queue.enqueue('fleet', () => ran.push('late'));
    for (let i = 0; i < 3; i += 1) {
      queue.noteWork(clock - 5, clock);
      vi.advanceTimersToNextFrame();
    }
    expect(ran).toHaveLength(2);
    queue.noteWork(clock - 5, clock);
    vi.advanceTimersToNextFrame();
    expect(ran.at(-1)).toBe('late');
  });
});
