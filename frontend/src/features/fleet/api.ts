// Fleet data: the twin list query. The live stream patches its cache (see hooks/useLiveFleet.ts).
import { queryOptions, useQuery } from '@tanstack/react-query';
import { getJson } from '../../api/client';
import type { TwinList } from '../../api/types';

export const twinsQueryKey = ['twins'] as const;

export const twinsQueryOptions = () =>
  queryOptions({
    queryKey: twinsQueryKey,
    queryFn: ({ signal }) => getJson<TwinList>('/api/v1/twins', undefined, signal),
    // The WebSocket keeps the list fresh; it is refetched only after a reconnect.
    staleTime: Number.POSITIVE_INFINITY,
    // Patched rows keep their identity (so memoised rows skip rendering); no deep compare needed.
    structuralSharing: false,
  });

export function useTwins() {
  return useQuery(twinsQueryOptions());
}
