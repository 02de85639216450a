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
});
