// Keeps the cached twin list live: WebSocket updates are coalesced per machine and written into
// the TanStack Query cache at most a few times per second, never by refetching.
import { useEffect, useRef } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { TwinList } from '../../../api/types';
import { createFrameScheduler, type FrameScheduler } from '../../../lib/frame';
import { useTwinStream, useTwinUpdates } from '../../../realtime/useTwinStream';
import { twinsQueryKey } from '../api';
import { applyUpdates, mergeUpdate, type PendingUpdate } from '../patch';

/** A 1,000-row table does not need more than four repaints a second. */
const FLUSH_INTERVAL_MS = 250;

export function useLiveFleet(): void {
  const queryClient = useQueryClient();
  const stream = useTwinStream();
  const pending = useRef(new Map<string, PendingUpdate>());
  const scheduler = useRef<FrameScheduler | null>(null);

  useEffect(() => {
    const flush = (): void => {
      const updates = pending.current;
      if (updates.size === 0) return;
      pending.current = new Map();
      queryClient.setQueryData<TwinList>(twinsQueryKey, (old) =>
        old ? applyUpdates(old, updates) : old,
      );
    };
    const instance = createFrameScheduler(flush, FLUSH_INTERVAL_MS);
    scheduler.current = instance;
    return () => {
      instance.cancel();
      scheduler.current = null;
    };
  }, [queryClient]);

  useTwinUpdates((items) => {
    const map = pending.current;
    const receivedAt = new Date(stream.serverNow()).toISOString();
    for (const update of items) {
      map.set(update.id, { update: mergeUpdate(map.get(update.id)?.update, update), receivedAt });
    }
    scheduler.current?.schedule();
  });
}
