// Data of one machine: its twin, recent readings, bucketed history, analytics (health, anomalies,
// correlations, decisions) and the desired-state patch.
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getJson, sendJson } from '../../api/client';
import type {
  AnomalyList,
  Correlations,
  DecisionList,
  DesiredState,
  HealthRead,
  History,
  ReadingList,
  Twin,
} from '../../api/types';

const base = (id: string) => `/api/v1/twins/${encodeURIComponent(id)}`;

export const twinQueryKey = (id: string) => ['twin', id] as const;

export const twinQueryOptions = (id: string) =>
  queryOptions({
    queryKey: twinQueryKey(id),
    queryFn: ({ signal }) => getJson<Twin>(base(id), undefined, signal),
    // The machine's subscription keeps it fresh (see hooks/useLiveTwin.ts).
    staleTime: Number.POSITIVE_INFINITY,
  });

export function useTwin(id: string) {
  return useQuery(twinQueryOptions(id));
}

export function useReadings(id: string, limit: number, enabled: boolean) {
  return useQuery({
    queryKey: ['twin', id, 'readings', limit],
    queryFn: ({ signal }) => getJson<ReadingList>(`${base(id)}/readings`, { limit }, signal),
    // History is only the seed; the live stream appends to it. Fetch fresh on every selection.
    staleTime: 0,
    gcTime: 0,
    enabled,
  });
}

export type Bucket = 'raw' | '1m' | '1h' | '1d';

export function useHistory(id: string, from: string, to: string, bucket: Bucket, enabled: boolean) {
  return useQuery({
    queryKey: ['twin', id, 'history', bucket, from, to],
    queryFn: ({ signal }) =>
      getJson<History>(`${base(id)}/history`, { from, to, bucket, limit: 10_000 }, signal),
    enabled,
    staleTime: 30_000,
  });
}

export function useHealth(id: string) {
  return useQuery({
    queryKey: ['twin', id, 'health'],
    queryFn: ({ signal }) => getJson<HealthRead>(`${base(id)}/health`, undefined, signal),
    refetchInterval: 5_000,
  });
}

export function useAnomalies(id: string) {
  return useQuery({
    queryKey: ['twin', id, 'anomalies'],
    queryFn: ({ signal }) => getJson<AnomalyList>(`${base(id)}/anomalies`, undefined, signal),
    refetchInterval: 15_000,
  });
}

export function useCorrelations(id: string) {
  return useQuery({
    queryKey: ['twin', id, 'correlations'],
    queryFn: ({ signal }) => getJson<Correlations>(`${base(id)}/correlations`, undefined, signal),
    // The engine refreshes the matrix at most every 10 s.
    refetchInterval: 10_000,
  });
}

export const decisionsQueryKey = (id: string) => ['twin', id, 'decisions'] as const;

export function useDecisions(id: string) {
  return useQuery({
    queryKey: decisionsQueryKey(id),
    queryFn: ({ signal }) => getJson<DecisionList>(`${base(id)}/decisions`, undefined, signal),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/** PATCH the desired document with a JSON merge patch, guarded by the desired version. */
export function usePatchDesired(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ patch, version }: { patch: Record<string, unknown>; version: number }) =>
      sendJson<DesiredState>('PATCH', `${base(id)}/desired`, patch, {
        contentType: 'application/merge-patch+json',
        headers: { 'If-Match': `"${version}"` },
      }),
    onSuccess: ({ data }) => {
      // Show the new desired state at once; the twin stream confirms it moments later.
      queryClient.setQueryData<Twin>(twinQueryKey(id), (twin) =>
        twin && twin.desired_version <= data.version
          ? {
              ...twin,
              desired: data.desired,
              desired_version: data.version,
              delta: data.delta,
              command: data.command,
            }
          : twin,
      );
    },
  });
}
