import { FakeWebSocket } from '../testing/fakeWebSocket';
import { backoffDelay, socketUrl, TwinSocket, type ConnectionStatus } from './socket';
import { makeUpdate } from '../testing/sampleData';

const BASE = 1000;
const MAX = 8000;
// random() = 0.5 keeps 75% of each exponential cap: 750, 1500, 3000, 6000, 6000, ...
const delayFor = (failures: number) => backoffDelay(failures, BASE, MAX, () => 0.5);

function createSocket(overrides: Partial<ConstructorParameters<typeof TwinSocket>[0]> = {}) {
  const socket = new TwinSocket({
    url: 'ws://dash.test/ws',
    WebSocketImpl: FakeWebSocket,
    baseDelayMs: BASE,
    maxDelayMs: MAX,
    offlineAfterFailures: 4,
    pingIntervalMs: 10_000,
    idleTimeoutMs: 25_000,
    random: () => 0.5,
    ...overrides,
  });
  const states: ConnectionStatus['state'][] = [];
  socket.onStatus((status) => {
    if (states.at(-1) !== status.state) states.push(status.state);
  });
  return { socket, states };
}

describe('TwinSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('connects, goes live and delivers typed update batches', () => {
    const { socket, states } = createSocket();
    const batches: string[][] = [];
    socket.onUpdates((items) => batches.push(items.map((item) => item.id)));
    socket.start();
    expect(socket.getStatus().state).toBe('connecting');
    expect(FakeWebSocket.latest.url).toBe('ws://dash.test/ws');

    FakeWebSocket.latest.open();
    FakeWebSocket.latest.receive({ type: 'hello', server_time: '2026-11-23T10:00:00Z' });
    FakeWebSocket.latest.receive({ type: 'updates', items: [makeUpdate(), { id: 42 }] });
    FakeWebSocket.latest.receive('not json');
    FakeWebSocket.latest.receive({ type: 'something-new' });

    expect(states).toEqual(['live']);
    expect(socket.getStatus().session).toBe(1);
    expect(batches).toEqual([['pump-0001']]);
    socket.stop();
  });

  it('reconnects with exponential backoff and jitter until a connection delivers', () => {
    const { socket } = createSocket();
    socket.start();

    for (let failures = 1; failures <= 5; failures += 1) {
      const count = FakeWebSocket.instances.length;
      FakeWebSocket.latest.drop();
      expect(socket.getStatus().failures).toBe(failures);
      vi.advanceTimersByTime(delayFor(failures) - 1);
      expect(FakeWebSocket.instances).toHaveLength(count);
      vi.advanceTimersByTime(1);
      expect(FakeWebSocket.instances).toHaveLength(count + 1);
    }
    // The cap holds: failures 4 and 5 waited the same 6000 ms.
    expect(delayFor(4)).toBe(6000);
    expect(delayFor(5)).toBe(6000);

    // A connection that delivers a frame resets the backoff.
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.receive({ type: 'hello', server_time: '2026-11-23T10:00:00Z' });
    expect(socket.getStatus()).toMatchObject({ state: 'live', failures: 0 });
    FakeWebSocket.latest.drop();
    expect(socket.getStatus().nextRetryAt).toBe(Date.now() + delayFor(1));
    socket.stop();
  });

  it('does not reset the backoff for a connection that opens but sends nothing', () => {
    const { socket } = createSocket();
    socket.start();
    FakeWebSocket.latest.drop();
    vi.advanceTimersByTime(delayFor(1));
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.drop();
    expect(socket.getStatus().failures).toBe(2);
    socket.stop();
  });

  it('shows reconnecting, then offline after repeated failures, then live again', () => {
    const { socket, states } = createSocket();
    socket.start();
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.receive({ type: 'hello', server_time: '2026-11-23T10:00:00Z' });
    for (let failures = 1; failures <= 4; failures += 1) {
      FakeWebSocket.latest.drop();
      vi.advanceTimersByTime(delayFor(failures));
    }
    expect(socket.getStatus().state).toBe('offline');
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.receive({ type: 'hello', server_time: '2026-11-23T10:00:30Z' });
    expect(states).toEqual(['live', 'reconnecting', 'offline', 'live']);
    expect(socket.getStatus().session).toBe(2);
    socket.stop();
  });

  it('pings while open and reconnects when the server goes silent', () => {
    const { socket } = createSocket();
    socket.start();
    const first = FakeWebSocket.latest;
    first.open();
    first.receive({ type: 'hello', server_time: '2026-11-23T10:00:00Z' });
    vi.advanceTimersByTime(10_000);
    expect(first.sent).toEqual([JSON.stringify({ type: 'ping' })]);
    first.receive({ type: 'pong' });

    vi.advanceTimersByTime(25_000);
    expect(first.closedWith?.code).toBe(4000);
    expect(socket.getStatus().state).toBe('reconnecting');
    vi.advanceTimersByTime(delayFor(1));
    expect(FakeWebSocket.latest).not.toBe(first);
    socket.stop();
  });

  it('corrects its clock with the server time from hello', () => {
    vi.setSystemTime(Date.parse('2026-11-23T10:00:00Z'));
    const { socket } = createSocket();
    socket.start();
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.receive({ type: 'hello', server_time: '2026-11-23T10:00:05Z' });
    expect(socket.serverNow()).toBe(Date.parse('2026-11-23T10:00:05Z'));
    socket.stop();
  });

  it('stops for good on stop() and can start again', () => {
    const { socket } = createSocket();
    socket.start();
    const first = FakeWebSocket.latest;
    socket.stop();
    expect(first.closedWith?.code).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    socket.start();
    expect(FakeWebSocket.instances).toHaveLength(2);
    socket.stop();
  });
});

describe('backoffDelay', () => {
  it('keeps between half and all of the exponential cap', () => {
    expect(backoffDelay(1, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(1, 500, 30_000, () => 0.999_999)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, () => 0)).toBe(1000);
    expect(backoffDelay(20, 500, 30_000, () => 0.999_999)).toBe(30_000);
  });
});

describe('socketUrl', () => {
  it('follows the page origin and scheme', () => {
    expect(socketUrl({ protocol: 'http:', host: 'localhost:5173' })).toBe('ws://localhost:5173/ws');
    expect(socketUrl({ protocol: 'https:', host: 'plant.example' })).toBe('wss://plant.example/ws');
  });
});
