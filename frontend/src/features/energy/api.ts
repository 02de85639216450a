// The energy endpoints for the Energy view (docs/api.md "Energy"): the sites that have meters (from the
// fleet list), consumption and cost per bucket, monthly peak demand and the hour × weekday heatmap.
// Figures move by the hour at most, so a poll every 5 minutes is fresh enough.
import { useQuery } from '@tanstack/react-query';
import { getJson } from '../../api/client';
import type { Consumption, EnergyHeatmap, PeakList, TwinList } from '../../api/types';
import { type EnergyBucket, type EnergyWindow, peakMonths, windowFrom } from './energyWindow';

export const METER_TYPE = 'energy_meter';
const POLL_MS = 300_000;

export const energyKeys = {
  all: ['energy'] as const,
  sites: ['energy', 'sites'] as const,
  consumption: (site: string, bucket: string, window: string) =>
    ['energy', 'consumption', site, bucket, window] as const,
  peaks: (site: string, months: number) => ['energy', 'peaks', site, months] as const,
  heatmap: (site: string, window: string) => ['energy', 'heatmap', site, window] as const,
};

/** The sites that have at least one energy meter, sorted. */
export function useMeterSites() {
  return useQuery({
    queryKey: energyKeys.sites,
    queryFn: async ({ signal }) => {
      const meters = await getJson<TwinList>(
        '/api/v1/twins',
        { machine_type: METER_TYPE, limit: 10_000 },
        signal,
      );
      const sites = new Set(meters.items.map((t) => t.site).filter((s): s is string => !!s));
      return [...sites].sort((a, b) => a.localeCompare(b));
    },
    staleTime: 60_000,
  });
}

export function useConsumption(site: string, bucket: EnergyBucket, window: EnergyWindow) {
  return useQuery({
    queryKey: energyKeys.consumption(site, bucket, window.key),
    queryFn: ({ signal }) =>
      getJson<Consumption>(
        '/api/v1/energy/consumption',
        { scope: 'site', id: site, bucket, from: windowFrom(window) },
        signal,
      ),
    enabled: site !== '',
    refetchInterval: POLL_MS,
  });
}

export function usePeaks(site: string, window: EnergyWindow) {
  const months = peakMonths(window);
  return useQuery({
    queryKey: energyKeys.peaks(site, months),
    queryFn: ({ signal }) => getJson<PeakList>('/api/v1/energy/peaks', { site, months }, signal),
    enabled: site !== '',
    refetchInterval: POLL_MS,
  });
}

export function useHeatmap(site: string, window: EnergyWindow) {
  return useQuery({
    queryKey: energyKeys.heatmap(site, window.key),
    queryFn: ({ signal }) =>
      getJson<EnergyHeatmap>('/api/v1/energy/heatmap', { site, from: windowFrom(window) }, signal),
    enabled: site !== '',
    refetchInterval: POLL_MS,
  });
}
