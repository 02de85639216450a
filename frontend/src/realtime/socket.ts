// The one WebSocket per tab to the backend's /ws (protocol in docs/api.md): authenticated by its
// first message (and renewed with each new access token), named subscriptions with filters and rate caps, the last `seq` kept per subscription and sent as `resume_after`
// after a reconnect, exponential backoff with jitter, a heartbeat watchdog, and a connection status
// the UI shows.
import type { AuthProvider } from '../api/client';
import { uiQueue } from '../lib/frameQueue';
import { parseTime } from '../lib/time';
import {
  type ChangeFieldName,
  isAlarm,
  isMachineEvent,
  isSeries,
  isSeriesAppend,
  isTwin,
  isTwinChange,
  parseServerMessage,
  type StreamItems,
  type StreamName,
  type SubscribeMessage,
  type SeriesSpec,
  type SubscriptionFilter,
  type WsClientMessage,
  type WsServerMessage,
} from './messages';

/** `denied`: the server refused a subscription to this role (4403); no retry until restarted. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'denied';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Consecutive failed connection attempts since the last healthy connection. */
  failures: number;
  /** When the next connection attempt is due (epoch ms), while waiting for one. */
  nextRetryAt: number | null;
  /** Increments on every `hello`; above 1 means the stream was resumed after a reconnect. */
  session: number;
  /** Close code of the last lost connection, if any. */
  lastCloseCode: number | null;
}

export interface SubscriptionSpec<S extends StreamName = StreamName> {
  /** The client's name for the subscription (1–64 chars); unique per socket. */
  sub: string;
  stream: S;
  filter?: SubscriptionFilter;
  /** The window of a chart stream (`stream: "series"`). */
  series?: SeriesSpec;
  max_rate_hz?: number;
  /** `twins` only: the members partial changes carry (a projection; snapshots stay whole). */
  fields?: ChangeFieldName[];
}

export interface SubscriptionHandlers<S extends StreamName = StreamName> {
  /** Replace everything known for this subscription (`reason` is `subscribe` or `gap`). */
  snapshot(items: Array<StreamItems[S]['snapshot']>, reason: string): void;
  /** Merge changes in order; `replay` marks changes missed while disconnected. */
  update(items: Array<StreamItems[S]['update']>, replay: boolean): void;
  error?(title: string, detail: string | null): void;
}

export type StatusListener = (status: ConnectionStatus) => void;

/** What the UI needs from the live connection; component tests substitute a fake. */
export interface RealtimeStream {
  getStatus(): ConnectionStatus;
  onStatus(listener: StatusListener): () => void;
  subscribe<S extends StreamName>(
    spec: SubscriptionSpec<S>,
    handlers: SubscriptionHandlers<S>,
  ): () => void;
  /** The current time on the server's clock (client clock corrected by `hello`). */
  serverNow(): number;
}

/** The part of the WebSocket API we use, so tests can pass a fake class. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = new (url: string) => WebSocketLike;

const OPEN = 1;
/** Server closed: max connection lifetime reached, reconnect and resume at once. */
export const CLOSE_LIFETIME = 4000;
/** Server closed: this client was too slow (send buffer full); back off before retrying. */
export const CLOSE_TOO_SLOW = 4008;
/** Client-side close code for a connection whose heartbeats stopped. */
export const CLOSE_HEARTBEAT_MISSED = 4001;
/** Server closed: not authenticated, or the token expired or is invalid; renew and reconnect. */
export const CLOSE_UNAUTHENTICATED = 4401;
/** Server closed: a subscription is forbidden for this role; retrying would not help. */
export const CLOSE_FORBIDDEN = 4403;

export interface RealtimeSocketOptions {
  url: string;
  /** Where the bearer token comes from; without it the socket sends no `auth` message. */
  auth?: AuthProvider;
  WebSocketImpl?: WebSocketFactory;
  /** First retry delay before jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** After this many consecutive failures the state is shown as offline (retries go on). */
  offlineAfterFailures?: number;
  /** Heartbeat period assumed until the server's `hello` states it. */
  defaultHeartbeatS?: number;
  /** Silence for this many heartbeat periods means the connection is dead. */
  heartbeatTolerance?: number;
  random?: () => number;
  now?: () => number;
}

/** URL of the backend WebSocket for the page's own origin: ws(s)://host/ws. */
export function socketUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/**
 * Delay before retry number `failures` (1-based): the exponential cap min(max, base·2^(n-1)),
 * of which a random half is kept ("equal jitter") so clients that dropped together spread out.
 */
export function backoffDelay(
  failures: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

interface Subscription {
  spec: SubscriptionSpec;
  handlers: SubscriptionHandlers;
  /** Last `seq` seen for this subscription; null until its first snapshot or update. */
  lastSeq: number | null;
}

/** Drops items that do not have the shape of their stream, so handlers can trust the types. */
function validItems<S extends StreamName, K extends 'snapshot' | 'update'>(
  stream: S,
  kind: K,
  items: unknown[],
): Array<StreamItems[S][K]> {
  const check =
    stream === 'twins'
      ? kind === 'snapshot'
        ? isTwin
        : isTwinChange
      : stream === 'series'
        ? kind === 'snapshot'
          ? isSeries
          : isSeriesAppend
        : stream === 'alarms'
          ? isAlarm
          : isMachineEvent;
  return items.filter(check) as Array<StreamItems[S][K]>;
}

function sameSpec(a: SubscriptionSpec, b: SubscriptionSpec): boolean {
  return (
    a.stream === b.stream &&
    a.max_rate_hz === b.max_rate_hz &&
    JSON.stringify(a.filter ?? {}) === JSON.stringify(b.filter ?? {}) &&
    JSON.stringify(a.fields ?? null) === JSON.stringify(b.fields ?? null)
  );
}

export class RealtimeSocket implements RealtimeStream {
  private readonly url: string;
  private readonly auth: AuthProvider | null;
  private readonly WebSocketImpl: WebSocketFactory;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly offlineAfterFailures: number;
  private readonly heartbeatTolerance: number;
  private readonly random: () => number;
  private readonly now: () => number;

  private readonly subscriptions = new Map<string, Subscription>();
  private readonly statusListeners = new Set<StatusListener>();
  private status: ConnectionStatus = {
    state: 'connecting',
    failures: 0,
    nextRetryAt: null,
    session: 0,
    lastCloseCode: null,
  };
  private ws: WebSocketLike | null = null;
  /** True between `hello` and the loss of the connection: subscriptions can be sent. */
  private ready = false;
  private running = false;
  private heartbeatS: number;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private clockOffsetMs = 0;
  /** The access token the current connection authenticated with. */
  private sentToken: string | null = null;

  constructor(options: RealtimeSocketOptions) {
    this.url = options.url;
    this.auth = options.auth ?? null;
    this.WebSocketImpl = options.WebSocketImpl ?? WebSocket;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.offlineAfterFailures = options.offlineAfterFailures ?? 5;
    this.heartbeatS = options.defaultHeartbeatS ?? 15;
    this.heartbeatTolerance = options.heartbeatTolerance ?? 2.5;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  getStatus(): ConnectionStatus {
    return this.status;
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  serverNow(): number {
    return this.now() + this.clockOffsetMs;
  }

  /** The last `seq` seen for a subscription (null before its first message). */
  lastSeq(sub: string): number | null {
    return this.subscriptions.get(sub)?.lastSeq ?? null;
  }

  subscribe<S extends StreamName>(
    spec: SubscriptionSpec<S>,
    handlers: SubscriptionHandlers<S>,
  ): () => void {
    const previous = this.subscriptions.get(spec.sub);
    const subscription: Subscription = {
      spec,
      handlers: handlers,
      // Re-subscribing with the same filter (a remounted view) may resume; a new filter may not.
      lastSeq: previous && sameSpec(previous.spec, spec) ? previous.lastSeq : null,
    };
    this.subscriptions.set(spec.sub, subscription);
    // A fresh view needs a snapshot, so it subscribes without resume_after.
    if (this.ready) this.sendSubscribe(subscription, false);
    return () => {
      if (this.subscriptions.get(spec.sub) !== subscription) return;
      this.subscriptions.delete(spec.sub);
      if (this.ready) this.send({ type: 'unsubscribe', sub: spec.sub });
    };
  }

  /** Opens the connection; idempotent, and callable again after stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.handleOnline);
      window.addEventListener('offline', this.handleOffline);
    }
    this.connect();
  }

  /**
   * Renews the live connection's authentication with a new access token (after a silent refresh);
   * the server keeps the subscriptions. A connection still opening uses the session's token anyway.
   */
  reauthenticate(token: string): void {
    if (!this.ready || !this.ws || token === this.sentToken) return;
    this.sentToken = token;
    this.send({ type: 'auth', token });
  }

  /** Closes the connection for good (until start()). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.handleOnline);
      window.removeEventListener('offline', this.handleOffline);
    }
    this.clearTimers();
    this.dropSocket(1000, 'client stopped');
    this.setStatus({ state: 'offline', failures: 0, nextRetryAt: null });
  }

  private send(message: WsClientMessage): void {
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(JSON.stringify(message));
  }

  private sendSubscribe(subscription: Subscription, resume: boolean): void {
    const { spec } = subscription;
    const message: SubscribeMessage = { type: 'subscribe', sub: spec.sub, stream: spec.stream };
    if (spec.filter) message.filter = spec.filter;
    if (spec.series) message.series = spec.series;
    if (spec.max_rate_hz !== undefined) message.max_rate_hz = spec.max_rate_hz;
    if (spec.fields) message.fields = spec.fields;
    if (resume && subscription.lastSeq !== null) message.resume_after = subscription.lastSeq;
    this.send(message);
  }

  private connect(): void {
    if (!this.running) return;
    this.retryTimer = null;
    const state: ConnectionState =
      this.status.session === 0 && this.status.failures === 0
        ? 'connecting'
        : this.status.state === 'offline'
          ? 'offline'
          : 'reconnecting';
    this.setStatus({ state, nextRetryAt: null });

    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this.scheduleReconnect(true);
      return;
    }
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.armWatchdog();
      if (this.auth) {
        // The first message must authenticate; the server says hello only after it.
        const token = this.auth.accessToken();
        if (token === null) {
          this.handleLost(CLOSE_UNAUTHENTICATED);
          return;
        }
        this.sentToken = token;
        this.send({ type: 'auth', token });
      }
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      const started = performance.now();
      this.handleFrame(event.data);
      // Parsing and merging a large update is work of its own: the UI queue keeps the render it
      // causes out of the same frame.
      uiQueue.noteWork(started, performance.now());
    };

    ws.onclose = (event) => {
      if (this.ws === ws) this.handleClose(event.code);
    };
    ws.onerror = () => {
      // A close event always follows an error; reconnecting is handled there.
    };
  }

  private handleFrame(data: unknown): void {
    this.armWatchdog();
    const message = parseServerMessage(data);
    if (message) this.handleMessage(message);
  }

  private handleMessage(message: WsServerMessage): void {
    switch (message.type) {
      case 'hello': {
        const serverTime = parseTime(message.server_time);
        if (Number.isFinite(serverTime)) this.clockOffsetMs = serverTime - this.now();
        if (message.heartbeat_s > 0) this.heartbeatS = message.heartbeat_s;
        this.armWatchdog();
        this.ready = true;
        // Only a connection that says hello resets the backoff, so a server that accepts and
        // drops connections at once is not hammered.
        this.setStatus({
          state: 'live',
          failures: 0,
          nextRetryAt: null,
          session: this.status.session + 1,
        });
        for (const subscription of this.subscriptions.values()) {
          this.sendSubscribe(subscription, true);
        }
        return;
      }
      case 'snapshot': {
        const subscription = this.subscriptions.get(message.sub);
        if (!subscription) return;
        subscription.lastSeq = message.seq;
        const items = validItems(subscription.spec.stream, 'snapshot', message.items);
        this.deliver(() => subscription.handlers.snapshot(items, message.reason));
        return;
      }
      case 'update': {
        const subscription = this.subscriptions.get(message.sub);
        if (!subscription) return;
        // seq only grows within a subscription: anything not newer was already applied.
        if (subscription.lastSeq !== null && message.seq <= subscription.lastSeq) return;
        subscription.lastSeq = message.seq;
        const items = validItems(subscription.spec.stream, 'update', message.items);
        if (items.length === 0) return;
        this.deliver(() => subscription.handlers.update(items, message.replay));
        return;
      }
      case 'error': {
        const subscription = message.sub ? this.subscriptions.get(message.sub) : undefined;
        if (subscription?.handlers.error) {
          const { handlers } = subscription;
          this.deliver(() => handlers.error?.(message.title, message.detail ?? null));
        } else {
          console.warn('realtime error', message.title, message.detail);
        }
        return;
      }
      default:
        // hello-less frames (heartbeat, pong, subscribed, unsubscribed) only feed the watchdog.
        return;
    }
  }

  private deliver(call: () => void): void {
    try {
      call();
    } catch (error) {
      console.error('realtime subscription handler failed', error);
    }
  }

  private armWatchdog(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    const silenceMs = this.heartbeatS * this.heartbeatTolerance * 1000;
    this.watchdog = setTimeout(() => this.handleLost(CLOSE_HEARTBEAT_MISSED), silenceMs);
  }

  private handleClose(code: number): void {
    this.handleLost(code);
  }

  /**
   * 4401: a fresh token (one refresh shared with the API calls), then reconnect and resume. With a
   * backoff even then: a server refusing every token must not be hammered (hello resets the count).
   * Without a token the session shows the login page and stops this socket meanwhile.
   */
  private handleUnauthenticated(): void {
    const renewal = this.auth ? this.auth.renew(this.sentToken) : Promise.resolve(null);
    void renewal
      .catch(() => null)
      .then(() => {
        if (this.running && this.ws === null && this.retryTimer === null) {
          this.scheduleReconnect(true);
        }
      });
  }

  private handleLost(code: number): void {
    this.clearTimers();
    this.ready = false;
    this.dropSocket(CLOSE_HEARTBEAT_MISSED, 'connection lost');
    this.setStatus({ lastCloseCode: code });
    if (code === CLOSE_FORBIDDEN) {
      // The role may not have what was asked: reconnecting would be refused the same way.
      this.setStatus({ state: 'denied', nextRetryAt: null });
      return;
    }
    if (code === CLOSE_UNAUTHENTICATED && this.auth) {
      this.setStatus({ state: 'reconnecting', nextRetryAt: null });
      this.handleUnauthenticated();
      return;
    }
    // 4000 is the server's planned end of a connection's lifetime: come back at once.
    this.scheduleReconnect(code !== CLOSE_LIFETIME);
  }

  private scheduleReconnect(backoff: boolean): void {
    if (!this.running) return;
    const failures = backoff ? this.status.failures + 1 : this.status.failures;
    const delay = backoff
      ? backoffDelay(failures, this.baseDelayMs, this.maxDelayMs, this.random)
      : 0;
    const browserOffline = typeof navigator !== 'undefined' && navigator.onLine === false;
    this.setStatus({
      state: browserOffline || failures >= this.offlineAfterFailures ? 'offline' : 'reconnecting',
      failures,
      nextRetryAt: this.now() + delay,
    });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private readonly handleOnline = (): void => {
    // The network is back: try now instead of waiting out a long backoff.
    if (this.running && this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.connect();
    }
  };

  private readonly handleOffline = (): void => {
    if (this.running && this.ws) this.handleLost(1006);
  };

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      // Closing a socket that never opened may throw in some engines; it is gone either way.
    }
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
  }

  private setStatus(patch: Partial<ConnectionStatus>): void {
    const next = { ...this.status, ...patch };
    if (
      next.state === this.status.state &&
      next.failures === this.status.failures &&
      next.nextRetryAt === this.status.nextRetryAt &&
      next.session === this.status.session &&
      next.lastCloseCode === this.status.lastCloseCode
    ) {
      return;
    }
    this.status = next;
    for (const listener of this.statusListeners) listener(next);
  }
}
