// Data-quality queries used by more than one view (the fleet's data-quality view and the machine's
// data-quality tab): query keys and the two endpoints. Counts are flushed every 10 s on the server,
// so a poll every 30 s is fresh enough.
import { queryOptions } from '@tanstack/react-query';
import { windowFrom, type QualityWindow } from '../lib/dataQuality';
import { getJson } from './client';
import type { DataQualitySummary, MachineDataQuality } from './types';

export const QUALITY_POLL_MS = 30_000;

export const dataQualityKeys = {
  all: ['data-quality'] as const,
  fleet: (window: string, top: number) => ['data-quality', 'fleet', window, top] as const,
  machine: (machineId: string, window: string) =>
    ['data-quality', 'machine', machineId, window] as const,
};

/** The fleet's counts per rule, the machines with most issues and the clocks off, over a window ending now. */
export const fleetDataQualityQuery = (window: QualityWindow, top = 10) =>
  queryOptions({
    queryKey: dataQualityKeys.fleet(window.key, top),
    // The window ends at the time of each fetch: the key names the window, not its bounds.
    queryFn: ({ signal }) =>
      getJson<DataQualitySummary>(
        '/api/v1/data-quality',
        { from: windowFrom(window), top },
        signal,
      ),
    refetchInterval: QUALITY_POLL_MS,
  });

/** One machine's counts per rule, its gaps (oldest first, a timeline) and its clock offset. */
export const machineDataQualityQuery = (machineId: string, window: QualityWindow, limit = 1000) =>
  queryOptions({
    queryKey: dataQualityKeys.machine(machineId, window.key),
    queryFn: ({ signal }) =>
      getJson<MachineDataQuality>(
        `/api/v1/twins/${encodeURIComponent(machineId)}/data-quality`,
        { from: windowFrom(window), limit },
        signal,
      ),
    refetchInterval: QUALITY_POLL_MS,
  });
