// React access to the live stream: the context that carries it and hooks for its status and
// update batches.
import { createContext, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { TwinUpdate } from '../api/types';
import type { ConnectionStatus, TwinStream } from './socket';

export const TwinStreamContext = createContext<TwinStream | null>(null);

export function useTwinStream(): TwinStream {
  const stream = useContext(TwinStreamContext);
  if (!stream) throw new Error('useTwinStream must be used inside <TwinStreamContext.Provider>');
  return stream;
}

export function useConnectionStatus(): ConnectionStatus {
  const stream = useTwinStream();
  return useSyncExternalStore(
    (notify) => stream.onStatus(notify),
    () => stream.getStatus(),
  );
}

/**
 * Calls `handler` with every batch of updates. The handler may change between renders without
 * resubscribing; it runs outside React rendering, so it should only mutate buffers or schedule work.
 */
export function useTwinUpdates(handler: (items: TwinUpdate[]) => void): void {
  const stream = useTwinStream();
  const handlerRef = useRef(handler);
  useEffect(() => {
    handlerRef.current = handler;
  });
  useEffect(() => stream.onUpdates((items) => handlerRef.current(items)), [stream]);
}

/**
 * After the stream comes back from a gap (a second or later `hello`), refetch all server data so
 * the lists and charts fill what was missed instead of silently skipping it.
 */
export function useResyncOnReconnect(): void {
  const stream = useTwinStream();
  const queryClient = useQueryClient();
  useEffect(() => {
    let lastSession = stream.getStatus().session;
    return stream.onStatus((status) => {
      if (status.session > lastSession && lastSession > 0) void queryClient.invalidateQueries();
      lastSession = status.session;
    });
  }, [stream, queryClient]);
}
