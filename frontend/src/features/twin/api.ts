// Data of one machine: its twin, recent readings, bucketed history, analytics (health, anomalies,
// correlations, decisions), its data quality and the desired-state patch.
import {
  queryOptions,
  useMutation,
  useQueries,
  useQuery,
  useQueryClient,
  type UseQueryResult,
} from '@tanstack/react-query';
import { useCallback } from 'react';
import { getJson, sendJson } from '../../api/client';
import { machineDataQualityQuery } from '../../api/dataQuality';
import type { QualityWindow } from '../../lib/dataQuality';
import type {
  AnomalyList,
  Correlations,
  DecisionList,
  DesiredState,
  DryRun,
  HealthRead,
  MachineType,
  Series,
  SensorForecast,
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

export type SeriesMethod = 'lttb' | 'minmax';

export interface SeriesParams {
  from: string;
  to?: string;
  /** Chart width in pixels: at most this many points per sensor come back. */
  width: number;
  method: SeriesMethod;
}

export const seriesQueryKey = (id: string) => ['twin', id, 'series'] as const;

/** Chart-ready series, downsampled by the server (LTTB or min/max per pixel). */
export function useSeries(id: string, params: SeriesParams, enabled: boolean, live = false) {
  const span = spanOf(params);
  return useQuery({
    queryKey: [...seriesQueryKey(id), params],
    queryFn: ({ signal }) =>
      getJson<Series>(
        `${base(id)}/series`,
        { from: params.from, to: params.to, width: params.width, method: params.method },
        signal,
      ),
    enabled,
    // The live chart's seed is fetched fresh each time; wider windows are cached for a while.
    staleTime: live ? 0 : 30_000,
    gcTime: live ? 0 : 5 * 60_000,
    // The same range moved on (its window steps with the clock): keep drawing the previous answer
    // until the new one is in, instead of flashing "loading"; another range starts afresh.
    placeholderData: (previous, previousQuery) => {
      const before = previousQuery?.queryKey[3];
      return isSeriesParams(before) && spanOf(before) === span ? previous : undefined;
    },
  });
}

function spanOf(params: SeriesParams): number {
  return Date.parse(params.to ?? '') - Date.parse(params.from);
}

function isSeriesParams(value: unknown): value is SeriesParams {
  return typeof value === 'object' && value !== null && 'from' in value && 'width' in value;
}

/**
 * A machine type's profile: per sensor its unit and normal operating range. Unknown types (404)
 * are final; profiles change rarely, so a minute's cache is fine.
 */
export function useMachineType(name: string | undefined) {
  return useQuery({
    queryKey: ['machine-type', name] as const,
    queryFn: ({ signal }) =>
      getJson<MachineType>(
        `/api/v1/machine-types/${encodeURIComponent(name ?? '')}`,
        undefined,
        signal,
      ),
    enabled: Boolean(name),
    staleTime: 60_000,
  });
}

/** The machine's data quality over a window ending now: counts per rule, gaps, clock offset. */
export function useMachineDataQuality(id: string, window: QualityWindow) {
  return useQuery(machineDataQualityQuery(id, window));
}

export const forecastQueryKey = (id: string, sensor: string, horizon: number) =>
  ['twin', id, 'forecast', sensor, horizon] as const;

/**
 * A sensor's next `horizon` minutes (1-minute means with their interval). The server refits only
 * when a new minute of history is complete, so asking more than once a minute gets the same answer.
 */
export const forecastQueryOptions = (id: string, sensor: string, horizon: number) =>
  queryOptions({
    queryKey: forecastQueryKey(id, sensor, horizon),
    queryFn: ({ signal }) =>
      getJson<SensorForecast>(`${base(id)}/forecast`, { sensor, horizon }, signal),
    staleTime: 60_000,
    refetchInterval: 60_000,
  });

/** What became of a sensor's forecast: its answer, or why there is none. */
export type ForecastResult = { forecast: SensorForecast } | { error: unknown };

/**
 * The forecasts of `sensors` while `enabled`, per sensor once answered. The map is a new one only
 * when an answer changed (a chart redraws its forecast then, at most once a minute).
 */
export function useSensorForecasts(
  id: string,
  sensors: readonly string[],
  horizon: number,
  enabled: boolean,
): ReadonlyMap<string, ForecastResult> {
  const combine = useCallback(
    (results: Array<UseQueryResult<SensorForecast>>) => {
      const out = new Map<string, ForecastResult>();
      results.forEach((result, i) => {
        const sensor = sensors[i];
        if (sensor === undefined) return;
        if (result.data) out.set(sensor, { forecast: result.data });
        else if (result.isError) out.set(sensor, { error: result.error });
      });
      return out;
    },
    [sensors],
  );
  return useQueries({
    queries: sensors.map((sensor) => ({ ...forecastQueryOptions(id, sensor, horizon), enabled })),
    combine,
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
      // Show the new desired state at once; the twin stream confirms it moments later. When the
      // stream got there first (same or newer desired version), it is as new as this response
      // or newer: the device may already have accepted the command this response calls pending.
      queryClient.setQueryData<Twin>(twinQueryKey(id), (twin) =>
        twin && twin.desired_version < data.version
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

export const dryRunQueryKey = (id: string, patch: Record<string, unknown> | null) =>
  ['dry-run', id, patch === null ? null : JSON.stringify(patch)] as const;

/**
 * What the PATCH of `patch` would do, asked of POST /desired/dry-run (nothing is stored or sent):
 * validation per field, delta, conflicts and the predicted steady state. Off while `patch` is null.
 * `desiredVersion` is part of the key: a new desired version makes the preview stale.
 */
export function useDryRun(
  id: string,
  patch: Record<string, unknown> | null,
  desiredVersion: number,
) {
  return useQuery({
    queryKey: [...dryRunQueryKey(id, patch), desiredVersion],
    queryFn: async () =>
      (
        await sendJson<DryRun>('POST', `${base(id)}/desired/dry-run`, patch, {
          contentType: 'application/merge-patch+json',
        })
      ).data,
    enabled: patch !== null,
    retry: false,
    staleTime: 10_000,
  });
}
