// Data of one twin: its current state and its recent readings (chart history).
import { queryOptions, useQuery } from '@tanstack/react-query';
import { getJson } from '../../api/client';
import type { ReadingList, Twin } from '../../api/types';

export const twinQueryOptions = (id: string) =>
  queryOptions({
    queryKey: ['twin', id],
    queryFn: ({ signal }) =>
      getJson<Twin>(`/api/v1/twins/${encodeURIComponent(id)}`, undefined, signal),
  });

export const readingsQueryOptions = (id: string, limit: number) =>
  queryOptions({
    queryKey: ['twin', id, 'readings', limit],
    queryFn: ({ signal }) =>
      getJson<ReadingList>(`/api/v1/twins/${encodeURIComponent(id)}/readings`, { limit }, signal),
    // History is only the seed; the live stream appends to it. Fetch fresh on every selection.
    staleTime: 0,
    gcTime: 0,
  });

export function useTwin(id: string) {
  return useQuery(twinQueryOptions(id));
}

export function useReadings(id: string, limit: number, enabled: boolean) {
  return useQuery({ ...readingsQueryOptions(id, limit), enabled });
}
