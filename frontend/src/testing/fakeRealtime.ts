// A controllable RealtimeStream for component tests: see what the UI subscribed to, and push
// snapshots, updates and status changes by hand.
import type { StreamItems, StreamName } from '../realtime/messages';
import type {
  ConnectionStatus,
  RealtimeStream,
  StatusListener,
  SubscriptionHandlers,
  SubscriptionSpec,
} from '../realtime/socket';

interface FakeSubscription {
  spec: SubscriptionSpec;
  handlers: SubscriptionHandlers;
}

export class FakeRealtime implements RealtimeStream {
  now: number;
  readonly subscriptions = new Map<string, FakeSubscription>();
  private status: ConnectionStatus = {
    state: 'live',
    failures: 0,
    nextRetryAt: null,
    session: 1,
    lastCloseCode: null,
  };
  private readonly statusListeners = new Set<StatusListener>();

  constructor(now: number) {
    this.now = now;
  }

  getStatus(): ConnectionStatus {
    return this.status;
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  subscribe<S extends StreamName>(
    spec: SubscriptionSpec<S>,
    handlers: SubscriptionHandlers<S>,
  ): () => void {
    const entry: FakeSubscription = {
      spec,
      handlers: handlers,
    };
    this.subscriptions.set(spec.sub, entry);
    return () => {
      if (this.subscriptions.get(spec.sub) === entry) this.subscriptions.delete(spec.sub);
    };
  }

  serverNow(): number {
    return this.now;
  }

  /** The subscription of a stream (the first one whose name starts with `prefix`, if given). */
  find(stream: StreamName, prefix = ''): FakeSubscription {
    for (const entry of this.subscriptions.values()) {
      if (entry.spec.stream === stream && entry.spec.sub.startsWith(prefix)) return entry;
    }
    throw new Error(`no ${stream} subscription ${prefix}`);
  }

  snapshot<S extends StreamName>(
    stream: S,
    items: Array<StreamItems[S]['snapshot']>,
    prefix = '',
  ): void {
    this.find(stream, prefix).handlers.snapshot(items, 'subscribe');
  }

  update<S extends StreamName>(
    stream: S,
    items: Array<StreamItems[S]['update']>,
    prefix = '',
    replay = false,
  ): void {
    this.find(stream, prefix).handlers.update(items, replay);
  }

  setStatus(patch: Partial<ConnectionStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const listener of this.statusListeners) listener(this.status);
  }
}
