// A controllable TwinStream for component tests: emit updates and status changes by hand.
import type { TwinUpdate } from '../api/types';
import type {
  ConnectionStatus,
  StatusListener,
  TwinStream,
  UpdatesListener,
} from '../realtime/socket';

export class FakeStream implements TwinStream {
  now: number;
  private status: ConnectionStatus = { state: 'live', failures: 0, nextRetryAt: null, session: 1 };
  private readonly updateListeners = new Set<UpdatesListener>();
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

  onUpdates(listener: UpdatesListener): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  serverNow(): number {
    return this.now;
  }

  emit(items: TwinUpdate[]): void {
    for (const listener of this.updateListeners) listener(items);
  }

  setStatus(patch: Partial<ConnectionStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const listener of this.statusListeners) listener(this.status);
  }

  get listenerCount(): number {
    return this.updateListeners.size;
  }
}
