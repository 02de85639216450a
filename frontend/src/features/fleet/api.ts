// The fleet's REST queries (the table itself is live over the WebSocket, see hooks/useFleet.ts):
// the per-line breakdown from GET /api/v1/twins/aggregate.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { getJson, type QueryParams } from '../../api/client';
import type { TwinAggregate } from '../../api/types';
import type { FleetFilter } from './fleetView';
import { AGGREGATE_PATH, breakdownParams } from './lineBreakdown';

/**
 * How often the breakdown is asked again while shown. Counts and averages over a line move slowly
 * next to the live table; 10 s keeps them current without a request per live update.
 */
export const BREAKDOWN_POLL_MS = 10_000;

export const fleetKeys = {
  all: ['fleet'] as const,
  aggregate: (params: QueryParams) => ['fleet', 'aggregate', params] as const,
};

/**
 * Machines, health and stale/offline counts per site and line for the fleet view's filters, while
 * `enabled`. A filter change is a new query: the request of the old filters is aborted (its signal
 * is passed to fetch) and the last answer stays on screen until the new one arrives. Polls never
 * overlap (a poll waits for the request in flight) and pause while the tab is hidden.
 */
export function useLineBreakdown(filter: FleetFilter, enabled: boolean) {
  const params = breakdownParams(filter);
  return useQuery({
    queryKey: fleetKeys.aggregate(params),
    queryFn: ({ signal }) => getJson<TwinAggregate>(AGGREGATE_PATH, params, signal),
    enabled,
    refetchInterval: BREAKDOWN_POLL_MS,
    placeholderData: keepPreviousData,
  });
}
