// The one reconnecting WebSocket to the backend's /ws: exponential backoff with jitter, heartbeat,
// typed messages fanned out to listeners, and a connection status the UI can show.
import type { ClientMessage, TwinUpdate } from '../api/types';
import { parseTime } from '../lib/time';
import { parseServerMessage } from './messages';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Consecutive failed connection attempts since the last healthy connection. */
  failures: number;
  /** When the next connection attempt is due (epoch ms), while waiting for one. */
  nextRetryAt: number | null;
  /** Increments on every `hello`; a value above 1 means the stream was resumed after a gap. */
  session: number;
}

export type UpdatesListener = (items: TwinUpdate[]) => void;
export type StatusListener = (status: ConnectionStatus) => void;

/** What the UI needs from the live stream; tests substitute a fake. */
export interface TwinStream {
  getStatus(): ConnectionStatus;
  onStatus(listener: StatusListener): () => void;
  onUpdates(listener: UpdatesListener): () => void;
  /** The current time on the server's clock (client clock corrected by the `hello` offset). */
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

export interface TwinSocketOptions {
  url: string;
  WebSocketImpl?: WebSocketFactory;
  /** First retry delay before jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** After this many consecutive failures the state is shown as offline (retries go on). */
  offlineAfterFailures?: number;
  pingIntervalMs?: number;
  /** No frame at all for this long means the connection is dead even if TCP has not noticed. */
  idleTimeoutMs?: number;
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

export class TwinSocket implements TwinStream {
  private readonly url: string;
  private readonly WebSocketImpl: WebSocketFactory;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly offlineAfterFailures: number;
  private readonly pingIntervalMs: number;
  private readonly idleTimeoutMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  private readonly updateListeners = new Set<UpdatesListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private status: ConnectionStatus = {
    state: 'connecting',
    failures: 0,
    nextRetryAt: null,
    session: 0,
  };
  private ws: WebSocketLike | null = null;
  private running = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private clockOffsetMs = 0;
  private receivedOnThisSocket = false;

  constructor(options: TwinSocketOptions) {
    this.url = options.url;
    this.WebSocketImpl = options.WebSocketImpl ?? WebSocket;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.offlineAfterFailures = options.offlineAfterFailures ?? 5;
    this.pingIntervalMs = options.pingIntervalMs ?? 15_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 40_000;
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

  onUpdates(listener: UpdatesListener): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  serverNow(): number {
    return this.now() + this.clockOffsetMs;
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

  private send(message: ClientMessage): void {
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(JSON.stringify(message));
  }

  private connect(): void {
    if (!this.running) return;
    this.retryTimer = null;
    const failures = this.status.failures;
    const state: ConnectionState =
      this.status.session === 0 && failures === 0
        ? 'connecting'
        : this.status.state === 'offline'
          ? 'offline'
          : 'reconnecting';
    this.setStatus({ state, nextRetryAt: null });
    this.receivedOnThisSocket = false;

    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setStatus({ state: 'live', nextRetryAt: null });
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.pingIntervalMs);
      this.armIdleTimer();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.handleMessage(event.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.handleLost();
    };
    ws.onerror = () => {
      // A close event always follows an error; reconnecting is handled there.
    };
  }

  private handleMessage(data: unknown): void {
    this.armIdleTimer();
    if (!this.receivedOnThisSocket) {
      // Only a connection that actually delivers resets the backoff, so a server that accepts
      // and immediately drops connections is not hammered.
      this.receivedOnThisSocket = true;
      if (this.status.failures !== 0) this.setStatus({ failures: 0 });
    }
    const message = parseServerMessage(data);
    if (!message) return;
    if (message.type === 'hello') {
      const serverTime = parseTime(message.server_time);
      if (Number.isFinite(serverTime)) this.clockOffsetMs = serverTime - this.now();
      this.setStatus({ session: this.status.session + 1 });
    } else if (message.type === 'updates' && message.items.length > 0) {
      for (const listener of this.updateListeners) {
        try {
          listener(message.items);
        } catch (error) {
          console.error('twin update listener failed', error);
        }
      }
    }
  }

  private armIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.handleLost(), this.idleTimeoutMs);
  }

  private handleLost(): void {
    this.clearTimers();
    this.dropSocket(4000, 'connection lost');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    const failures = this.status.failures + 1;
    const delay = backoffDelay(failures, this.baseDelayMs, this.maxDelayMs, this.random);
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
    if (this.running && this.ws) this.handleLost();
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
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.retryTimer = null;
    this.pingTimer = null;
    this.idleTimer = null;
  }

  private setStatus(patch: Partial<ConnectionStatus>): void {
    const next = { ...this.status, ...patch };
    if (
      next.state === this.status.state &&
      next.failures === this.status.failures &&
      next.nextRetryAt === this.status.nextRetryAt &&
      next.session === this.status.session
    ) {
      return;
    }
    this.status = next;
    for (const listener of this.statusListeners) listener(next);
  }
}
