import { FakeWebSocket } from '../testing/fakeWebSocket';
import { FakeAuthApi } from '../testing/fakeAuth';
import { AuthSession } from '../auth/session';
import {
  backoffDelay,
  CLOSE_FORBIDDEN,
  CLOSE_UNAUTHENTICATED,
  RealtimeSocket,
  type ConnectionStatus,
} from './socket';

const BASE = 1000;
const HELLO = {
  type: 'hello',
  server_time: '2026-11-23T10:00:00Z',
  seq: 100,
  heartbeat_s: 10,
  max_lifetime_s: 3600,
  identity: { kind: 'user', id: 'u1', name: 'admin', role: 'admin' },
  expires_at: '2026-11-23T10:15:00Z',
};

const sent = (ws: FakeWebSocket) =>
  ws.sent.map((text) => JSON.parse(text) as Record<string, unknown>);

/** A socket authenticated by a real session over a fake auth API that holds a login. */
async function setup() {
  const api = new FakeAuthApi();
  api.cookie = true;
  const session = new AuthSession({ api });
  await session.start();
  const socket = new RealtimeSocket({
    url: 'ws://dash.test/ws',
    auth: session,
    WebSocketImpl: FakeWebSocket,
    baseDelayMs: BASE,
    maxDelayMs: 8000,
    random: () => 0.5,
  });
  const states: ConnectionStatus['state'][] = [];
  socket.onStatus((status) => {
    if (states.at(-1) !== status.state) states.push(status.state);
  });
  session.onToken((token) => socket.reauthenticate(token));
  const snapshots: number[] = [];
  socket.subscribe(
    { sub: 'fleet', stream: 'twins' },
    { snapshot: (items) => snapshots.push(items.length), update: () => undefined },
  );
  socket.start();
  return { api, session, socket, states };
}

describe('RealtimeSocket authentication', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the access token first and subscribes only after hello', async () => {
    const { session, socket } = await setup();
    const ws = FakeWebSocket.latest;
    ws.open();
    expect(sent(ws)).toEqual([{ type: 'auth', token: session.accessToken() }]);
    ws.receive(HELLO);
    expect(sent(ws).map((m) => m.type)).toEqual(['auth', 'subscribe']);
    expect(socket.getStatus().state).toBe('live');
    socket.stop();
  });

  it('renews the live connection with each new token, keeping its subscriptions', async () => {
    const { session, socket } = await setup();
    const ws = FakeWebSocket.latest;
    ws.open();
    ws.receive(HELLO);
    const first = session.accessToken();
    await session.refresh();
    expect(session.accessToken()).not.toBe(first);
    expect(sent(ws).at(-1)).toEqual({ type: 'auth', token: session.accessToken() });
    ws.receive({ type: 'authenticated', identity: HELLO.identity, expires_at: null });
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(socket.getStatus().state).toBe('live');
    socket.stop();
  });

  it('on 4401 refreshes once, reconnects with the new token and resumes', async () => {
    const { api, session, socket, states } = await setup();
    const ws = FakeWebSocket.latest;
    ws.open();
    ws.receive(HELLO);
    ws.receive({ type: 'snapshot', sub: 'fleet', seq: 120, reason: 'subscribe', items: [] });
    const stale = session.accessToken();
    const refreshes = api.calls.refresh;

    ws.drop(CLOSE_UNAUTHENTICATED);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.refresh).toBe(refreshes + 1);
    expect(session.accessToken()).not.toBe(stale);
    await vi.advanceTimersByTimeAsync(backoffDelay(1, BASE, 8000, () => 0.5));
    const next = FakeWebSocket.latest;
    expect(next).not.toBe(ws);
    next.open();
    expect(sent(next)).toEqual([{ type: 'auth', token: session.accessToken() }]);
    next.receive(HELLO);
    expect(sent(next).at(-1)).toMatchObject({ type: 'subscribe', sub: 'fleet', resume_after: 120 });
    expect(states).toEqual(['live', 'reconnecting', 'live']);
    socket.stop();
  });

  it('on 4401 with no login left, the session goes to the login page and the socket stops', async () => {
    const { api, session, socket } = await setup();
    session.subscribe(() => {
      if (session.getState().status !== 'authenticated') socket.stop();
    });
    const ws = FakeWebSocket.latest;
    ws.open();
    ws.receive(HELLO);
    api.cookie = false; // revoked meanwhile
    ws.drop(CLOSE_UNAUTHENTICATED);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(session.getState()).toMatchObject({ status: 'anonymous' });
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(socket.getStatus().state).toBe('offline');
  });

  it('on 4403 shows access denied and does not reconnect', async () => {
    const { socket, states } = await setup();
    const ws = FakeWebSocket.latest;
    ws.open();
    ws.receive(HELLO);
    ws.receive({ type: 'error', sub: 'fleet', title: 'Forbidden', detail: 'needs admin' });
    ws.drop(CLOSE_FORBIDDEN);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(socket.getStatus()).toMatchObject({ state: 'denied', lastCloseCode: CLOSE_FORBIDDEN });
    expect(states.at(-1)).toBe('denied');
    socket.stop();
  });
});
