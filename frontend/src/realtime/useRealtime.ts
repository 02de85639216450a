// React access to the live connection: the context that carries it, its status, and a hook that
// holds one subscription for as long as a component is mounted.
import { createContext, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import type { StreamName } from './messages';
import type {
  ConnectionStatus,
  RealtimeStream,
  SubscriptionHandlers,
  SubscriptionSpec,
} from './socket';

export const RealtimeContext = createContext<RealtimeStream | null>(null);

export function useRealtime(): RealtimeStream {
  const stream = useContext(RealtimeContext);
  if (!stream) throw new Error('useRealtime must be used inside <RealtimeContext.Provider>');
  return stream;
}

export function useConnectionStatus(): ConnectionStatus {
  const stream = useRealtime();
  return useSyncExternalStore(
    (notify) => stream.onStatus(notify),
    () => stream.getStatus(),
  );
}

/**
 * Holds subscription `spec` while mounted (null: none). The spec is compared by value, so an inline
 * object does not resubscribe on every render; handlers may change freely. Handlers run outside
 * React rendering: they should update stores or caches and schedule work, not set state per item.
 */
export function useSubscription<S extends StreamName>(
  spec: SubscriptionSpec<S> | null,
  handlers: SubscriptionHandlers<S>,
): void {
  const stream = useRealtime();
  const handlersRef = useRef(handlers);
  useEffect(() => {
    handlersRef.current = handlers;
  });
  const key = spec ? JSON.stringify(spec) : null;
  useEffect(() => {
    if (key === null) return;
    const parsed = JSON.parse(key) as SubscriptionSpec<S>;
    return stream.subscribe(parsed, {
      snapshot: (items, reason) => handlersRef.current.snapshot(items, reason),
      update: (items, replay) => handlersRef.current.update(items, replay),
      error: (title, detail) => handlersRef.current.error?.(title, detail),
    });
  }, [stream, key]);
}
