import { FakeWebSocket } from '../testing/fakeWebSocket';
import { alarmChange, makeAlarm } from '../testing/alarmData';
import { makeTwin, makeUpdate } from '../testing/sampleData';
import type { Twin } from '../api/types';
import type { TwinChange } from './messages';
import {
  backoffDelay,
  CLOSE_LIFETIME,
  CLOSE_TOO_SLOW,
  RealtimeSocket,
  socketUrl,
  type ConnectionStatus,
  type RealtimeSocketOptions,
} from './socket';
import { applyTwinChanges } from './twinChanges';

const BASE = 1000;
const MAX = 8000;
// random() = 0.5 keeps 75% of each exponential cap: 750, 1500, 3000, 6000, 6000, ...
const delayFor = (failures: number) => backoffDelay(failures, BASE, MAX, () => 0.5);

const HELLO = {
  type: 'hello',
  server_time: '2026-11-23T10:00:00Z',
  seq: 100,
  heartbeat_s: 10,
  max_lifetime_s: 3600,
  identity: { kind: 'user', id: 'u1', name: 'admin', role: 'admin' },
  expires_at: null,
};

function createSocket(overrides: Partial<RealtimeSocketOptions> = {}) {
  const socket = new RealtimeSocket({
    url: 'ws://dash.test/ws',
    WebSocketImpl: FakeWebSocket,
    baseDelayMs: BASE,
    maxDelayMs: MAX,
    offlineAfterFailures: 4,
    random: () => 0.5,
    ...overrides,
  });
  const states: ConnectionStatus['state'][] = [];
  socket.onStatus((status) => {
    if (states.at(-1) !== status.state) states.push(status.state);
  });
  return { socket, states };
}

/** Opens the latest fake connection and says hello. */
function connect(hello: object = HELLO): FakeWebSocket {
  const ws = FakeWebSocket.latest;
  ws.open();
  ws.receive(hello);
  return ws;
}

const sent = (ws: FakeWebSocket) =>
  ws.sent.map((text) => JSON.parse(text) as Record<string, unknown>);

/** A fleet kept the way the app keeps it: snapshot replaces, updates merge. */
function fleetSubscription(socket: RealtimeSocket) {
  const fleet = new Map<string, Twin>();
  const log: string[] = [];
  const stop = socket.subscribe(
    { sub: 'fleet', stream: 'twins', max_rate_hz: 2 },
    {
      snapshot: (items, reason) => {
        log.push(`snapshot:${reason}:${items.length}`);
        fleet.clear();
        for (const twin of items) fleet.set(twin.id, twin);
      },
      update: (items, replay) => {
        log.push(`update:${replay ? 'replay' : 'live'}:${items.length}`);
        applyTwinChanges(fleet, items);
      },
    },
  );
  return { fleet, log, stop };
}

describe('RealtimeSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('builds the socket URL from the page origin', () => {
    expect(socketUrl({ protocol: 'https:', host: 'plant.example:8443' })).toBe(
      'wss://plant.example:8443/ws',
    );
    expect(socketUrl({ protocol: 'http:', host: 'localhost:8000' })).toBe('ws://localhost:8000/ws');
  });

  it('subscribes after hello and delivers snapshot then updates', () => {
    const { socket, states } = createSocket();
    socket.start();
    const { fleet, log } = fleetSubscription(socket);
    expect(socket.getStatus().state).toBe('connecting');
    FakeWebSocket.latest.open();
    // Nothing is sent before the server said hello.
    expect(FakeWebSocket.latest.sent).toEqual([]);
    const ws = connect();
    expect(states).toEqual(['live']);
    expect(sent(ws)).toEqual([
      { type: 'subscribe', sub: 'fleet', stream: 'twins', max_rate_hz: 2 },
    ]);

    ws.receive({ type: 'subscribed', sub: 'fleet', stream: 'twins', max_rate_hz: 2 });
    ws.receive({
      type: 'snapshot',
      sub: 'fleet',
      seq: 100,
      reason: 'subscribe',
      items: [makeTwin(), makeTwin({ id: 'fan-0002' }), { not: 'a twin' }],
    });
    ws.receive({ type: 'update', sub: 'fleet', seq: 105, replay: false, items: [makeUpdate()] });
    ws.receive({ type: 'update', sub: 'other', seq: 106, replay: false, items: [makeUpdate()] });
    ws.receive('not json');
    ws.receive({ type: 'something-new' });

    expect(log).toEqual(['snapshot:subscribe:2', 'update:live:1']);
    expect(fleet.get('pump-0001')?.readings.temperature_c).toBe(62);
    expect(socket.lastSeq('fleet')).toBe(105);
    socket.stop();
  });

  it('carries the alarms stream: alarms in the snapshot, transitions in updates, malformed ones dropped', () => {
    const { socket } = createSocket();
    socket.start();
    const seen: string[] = [];
    socket.subscribe(
      { sub: 'alarms', stream: 'alarms' },
      {
        snapshot: (items) => seen.push(`snapshot:${items.map((a) => a.id).join(',')}`),
        update: (items) =>
          seen.push(`update:${items.map((a) => `${a.id}/${a.transition}`).join(',')}`),
      },
    );
    const ws = connect();
    expect(sent(ws)).toEqual([{ type: 'subscribe', sub: 'alarms', stream: 'alarms' }]);
    const alarm = makeAlarm({ id: 7 });
    ws.receive({
      type: 'snapshot',
      sub: 'alarms',
      seq: 100,
      reason: 'subscribe',
      // An anomaly event is no alarm (no id/seq/state of an alarm).
      items: [alarm, { machine_id: 'pump-0001', ts: '2026-11-23T10:00:00Z' }],
    });
    ws.receive({
      type: 'update',
      sub: 'alarms',
      seq: 101,
      replay: false,
      items: [alarmChange({ ...alarm, seq: 2, state: 'ack_active' }, 'acknowledged'), { id: 'x' }],
    });
    expect(seen).toEqual(['snapshot:7', 'update:7/acknowledged']);
    socket.stop();
  });

  it('ignores updates it has already seen (seq not newer)', () => {
    const { socket } = createSocket();
    socket.start();
    const { log } = fleetSubscription(socket);
    const ws = connect();
    ws.receive({ type: 'snapshot', sub: 'fleet', seq: 10, reason: 'subscribe', items: [] });
    ws.receive({ type: 'update', sub: 'fleet', seq: 10, replay: false, items: [makeUpdate()] });
    ws.receive({ type: 'update', sub: 'fleet', seq: 9, replay: false, items: [makeUpdate()] });
    ws.receive({ type: 'update', sub: 'fleet', seq: 11, replay: false, items: [makeUpdate()] });
    expect(log).toEqual(['snapshot:subscribe:0', 'update:live:1']);
    socket.stop();
  });

  it('carries a chart stream: its window in the subscription, series snapshot and appended points', () => {
    const { socket } = createSocket();
    socket.start();
    const got: unknown[] = [];
    const series = { machine_id: 'pump-0001', from: '2026-11-23T09:00:00Z', width: 300 };
    socket.subscribe(
      { sub: 'chart', stream: 'series', series, max_rate_hz: 1 },
      { snapshot: (items) => got.push(...items), update: (items) => got.push(...items) },
    );
    const ws = connect();
    expect(sent(ws).find((m) => m.type === 'subscribe')).toMatchObject({
      sub: 'chart',
      stream: 'series',
      series,
      max_rate_hz: 1,
    });
    const window = {
      machine_id: 'pump-0001',
      sensors: { flow_m3_h: { t: [], v: [], raw_count: 0 } },
    };
    ws.receive({ type: 'snapshot', sub: 'chart', seq: 5, reason: 'subscribe', items: [window, 7] });
    const point = { sensor: 'flow_m3_h', t: ['2026-11-23T10:00:00Z'], v: [1.5] };
    ws.receive({ type: 'update', sub: 'chart', seq: 6, replay: false, items: [point, { v: 1 }] });
    // Items without the stream's shape are dropped before the handlers see them.
    expect(got).toEqual([window, point]);
    socket.stop();
  });

  it('unsubscribes and sends later subscriptions at once while connected', () => {
    const { socket } = createSocket();
    socket.start();
    const ws = connect();
    const stop = socket.subscribe(
      { sub: 'machine:pump-0001', stream: 'twins', filter: { machine_ids: ['pump-0001'] } },
      { snapshot: () => {}, update: () => {} },
    );
    stop();
    expect(sent(ws)).toEqual([
      {
        type: 'subscribe',
        sub: 'machine:pump-0001',
        stream: 'twins',
        filter: { machine_ids: ['pump-0001'] },
      },
      { type: 'unsubscribe', sub: 'machine:pump-0001' },
    ]);
    socket.stop();
  });

  it('reconnects with exponential backoff and jitter until a connection says hello', () => {
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
    // Jitter: the delay spreads between half and all of the cap.
    expect(backoffDelay(3, BASE, MAX, () => 0)).toBe(2000);
    expect(backoffDelay(3, BASE, MAX, () => 1)).toBe(4000);

    // A connection that opens but never says hello does not reset the backoff.
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.drop();
    expect(socket.getStatus().failures).toBe(6);
    vi.advanceTimersByTime(delayFor(6));

    connect();
    expect(socket.getStatus()).toMatchObject({ state: 'live', failures: 0 });
    FakeWebSocket.latest.drop();
    expect(socket.getStatus().nextRetryAt).toBe(Date.now() + delayFor(1));
    socket.stop();
  });

  it('shows reconnecting, then offline after repeated failures, then live again', () => {
    const { socket, states } = createSocket();
    socket.start();
    connect();
    for (let failures = 1; failures <= 4; failures += 1) {
      FakeWebSocket.latest.drop();
      vi.advanceTimersByTime(delayFor(failures));
    }
    expect(socket.getStatus().state).toBe('offline');
    connect();
    expect(states).toEqual(['live', 'reconnecting', 'offline', 'live']);
    expect(socket.getStatus().session).toBe(2);
    socket.stop();
  });

  it('reconnects at once on 4000 (lifetime) but backs off on 4008 (too slow)', () => {
    const { socket } = createSocket();
    socket.start();
    connect();
    let count = FakeWebSocket.instances.length;
    FakeWebSocket.latest.drop(CLOSE_LIFETIME);
    expect(socket.getStatus()).toMatchObject({
      state: 'reconnecting',
      failures: 0,
      lastCloseCode: 4000,
    });
    vi.advanceTimersByTime(0);
    expect(FakeWebSocket.instances).toHaveLength(count + 1);

    connect();
    count = FakeWebSocket.instances.length;
    FakeWebSocket.latest.drop(CLOSE_TOO_SLOW);
    expect(socket.getStatus()).toMatchObject({ failures: 1, lastCloseCode: 4008 });
    vi.advanceTimersByTime(delayFor(1) - 1);
    expect(FakeWebSocket.instances).toHaveLength(count);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(count + 1);
    socket.stop();
  });

  it('reconnects when nothing arrives for 2.5 heartbeats', () => {
    const { socket } = createSocket();
    socket.start();
    const first = connect(); // heartbeat_s: 10 → watchdog 25 s
    vi.advanceTimersByTime(24_000);
    first.receive({ type: 'heartbeat', server_time: '2026-11-23T10:00:24Z', seq: 100 });
    vi.advanceTimersByTime(24_000);
    expect(first.closedWith).toBeNull();
    expect(socket.getStatus().state).toBe('live');
    vi.advanceTimersByTime(1_000);
    expect(first.closedWith).not.toBeNull();
    expect(socket.getStatus().state).toBe('reconnecting');
    vi.advanceTimersByTime(delayFor(1));
    expect(FakeWebSocket.latest).not.toBe(first);
    socket.stop();
  });

  it('resumes after a reconnect: replayed updates merge into what the view has', () => {
    const { socket } = createSocket();
    socket.start();
    const { fleet, log } = fleetSubscription(socket);
    const ws = connect();
    ws.receive({
      type: 'snapshot',
      sub: 'fleet',
      seq: 100,
      reason: 'subscribe',
      items: [makeTwin(), makeTwin({ id: 'fan-0002', health: 90 })],
    });
    ws.receive({
      type: 'update',
      sub: 'fleet',
      seq: 120,
      replay: false,
      items: [makeUpdate({ version: 11, readings: { temperature_c: 63 } })],
    });
    ws.drop();
    vi.advanceTimersByTime(delayFor(1));

    const again = connect({ ...HELLO, seq: 200 });
    expect(sent(again)).toEqual([
      { type: 'subscribe', sub: 'fleet', stream: 'twins', max_rate_hz: 2, resume_after: 120 },
    ]);
    // Exactly the missed changes, in order, marked as replay: no snapshot, nothing lost.
    const missed: TwinChange[] = [
      makeUpdate({ version: 12, readings: { temperature_c: 64 } }),
      { id: 'fan-0002', kind: 'analytics', health: 55, anomaly_score: 0.7 },
      makeUpdate({ version: 13, readings: { vibration_mm_s: 4.2 } }),
    ];
    again.receive({ type: 'update', sub: 'fleet', seq: 150, replay: true, items: missed });
    again.receive({ type: 'update', sub: 'fleet', seq: 201, replay: false, items: [] });

    expect(log).toEqual(['snapshot:subscribe:2', 'update:live:1', 'update:replay:3']);
    const pump = fleet.get('pump-0001');
    expect(pump?.readings).toMatchObject({
      temperature_c: 64,
      vibration_mm_s: 4.2,
      flow_m3_h: 120.4,
    });
    expect(pump?.version).toBe(13);
    expect(fleet.get('fan-0002')).toMatchObject({ health: 55, anomaly_score: 0.7 });
    expect(socket.lastSeq('fleet')).toBe(201);
    socket.stop();
  });

  it('fills a gap the server cannot replay with a fresh snapshot that replaces the view', () => {
    const { socket } = createSocket();
    socket.start();
    const { fleet, log } = fleetSubscription(socket);
    const ws = connect();
    ws.receive({
      type: 'snapshot',
      sub: 'fleet',
      seq: 100,
      reason: 'subscribe',
      items: [makeTwin(), makeTwin({ id: 'gone-0009' })],
    });
    ws.drop();
    vi.advanceTimersByTime(delayFor(1));
    const again = connect({ ...HELLO, seq: 9000 });
    expect(sent(again)[0]).toMatchObject({ resume_after: 100 });
    again.receive({
      type: 'snapshot',
      sub: 'fleet',
      seq: 9000,
      reason: 'gap',
      items: [makeTwin({ version: 80, readings: { temperature_c: 70 } })],
    });
    expect(log).toEqual(['snapshot:subscribe:2', 'snapshot:gap:1']);
    expect([...fleet.keys()]).toEqual(['pump-0001']);
    expect(fleet.get('pump-0001')?.readings).toEqual({ temperature_c: 70 });
    socket.stop();
  });

  it('does not resume a subscription whose filter changed', () => {
    const { socket } = createSocket();
    socket.start();
    const ws = connect();
    const handlers = { snapshot: () => {}, update: () => {} };
    socket.subscribe({ sub: 'm', stream: 'twins', filter: { machine_ids: ['a'] } }, handlers);
    ws.receive({ type: 'snapshot', sub: 'm', seq: 5, reason: 'subscribe', items: [] });
    socket.subscribe({ sub: 'm', stream: 'twins', filter: { machine_ids: ['b'] } }, handlers);
    expect(socket.lastSeq('m')).toBeNull();
    socket.stop();
  });

  it('hands subscription errors to the subscription and keeps the socket open', () => {
    const { socket } = createSocket();
    socket.start();
    const errors: string[] = [];
    socket.subscribe(
      { sub: 'fleet', stream: 'twins' },
      {
        snapshot: () => {},
        update: () => {},
        error: (title, detail) => errors.push(`${title}: ${detail}`),
      },
    );
    const ws = connect();
    ws.receive({ type: 'error', sub: 'fleet', title: 'Invalid filter', detail: 'site: too long' });
    expect(errors).toEqual(['Invalid filter: site: too long']);
    expect(ws.closedWith).toBeNull();
    socket.stop();
  });

  it('stops for good: no reconnect after stop()', () => {
    const { socket } = createSocket();
    socket.start();
    connect();
    socket.stop();
    expect(FakeWebSocket.latest.closedWith?.code).toBe(1000);
    const count = FakeWebSocket.instances.length;
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(count);
    expect(socket.getStatus().state).toBe('offline');
  });
});
