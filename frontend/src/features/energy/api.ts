// The energy endpoints for the Energy view (docs/api.md "Energy"): the sites that have meters and their
// meters (from the fleet list), consumption and cost per bucket, monthly peak demand, the hour × weekday
// heatmap and a meter's next hours forecast. Figures move by the hour at most, so a poll every 5
// minutes is fresh enough.
import { useQuery } from '@tanstack/react-query';
import { getJson } from '../../api/client';
import type {
  Consumption,
  EnergyForecast,
  EnergyHeatmap,
  PeakList,
  TwinList,
} from '../../api/types';
import { type EnergyBucket, type EnergyWindow, peakMonths, windowFrom } from './energyWindow';

export const METER_TYPE = 'energy_meter';
const POLL_MS = 300_000;

export const energyKeys = {
  all: ['energy'] as const,
  sites: ['energy', 'sites'] as const,
  consumption: (scope: ConsumptionScope, id: string, bucket: string, window: string) =>
    ['energy', 'consumption', scope, id, bucket, window] as const,
  forecast: (meter: string, hours: number) => ['energy', 'forecast', meter, hours] as const,
  peaks: (site: string, months: number) => ['energy', 'peaks', site, months] as const,
  heatmap: (site: string, window: string) => ['energy', 'heatmap', site, window] as const,
};

export type ConsumptionScope = 'site' | 'meter';

export interface MeterSites {
  /** The sites that have at least one energy meter, sorted. */
  sites: string[];
  /** Each site's meters (machine ids), sorted. */
  meters: Map<string, string[]>;
}

/** The fleet's energy meters by site. */
export function useMeterSites() {
  return useQuery({
    queryKey: energyKeys.sites,
    queryFn: async ({ signal }): Promise<MeterSites> => {
      const list = await getJson<TwinList>(
        '/api/v1/twins',
        { machine_type: METER_TYPE, limit: 10_000 },
        signal,
      );
      const meters = new Map<string, string[]>();
      for (const twin of list.items) {
        if (!twin.site) continue;
        const ids = meters.get(twin.site);
        if (ids) ids.push(twin.id);
        else meters.set(twin.site, [twin.id]);
      }
      for (const ids of meters.values()) ids.sort((a, b) => a.localeCompare(b));
      return { sites: [...meters.keys()].sort((a, b) => a.localeCompare(b)), meters };
    },
    staleTime: 60_000,
  });
}

/** kWh and cost per bucket of a site's meters together, or of one meter. */
export function useConsumption(
  scope: ConsumptionScope,
  id: string,
  bucket: EnergyBucket,
  window: EnergyWindow,
) {
  return useQuery({
    queryKey: energyKeys.consumption(scope, id, bucket, window.key),
    queryFn: ({ signal }) =>
      getJson<Consumption>(
        '/api/v1/energy/consumption',
        { scope, id, bucket, from: windowFrom(window) },
        signal,
      ),
    enabled: id !== '',
    refetchInterval: POLL_MS,
  });
}

/** Hours of forecast drawn on the consumption chart. */
export const FORECAST_HOURS = 24;

/**
 * A meter's next FORECAST_HOURS hours (kWh per hour with an interval), while `enabled`. The server
 * refits when a new hour is complete; the page's 5-minute poll is often enough.
 */
export function useEnergyForecast(meter: string, enabled: boolean) {
  return useQuery({
    queryKey: energyKeys.forecast(meter, FORECAST_HOURS),
    queryFn: ({ signal }) =>
      getJson<EnergyForecast>('/api/v1/energy/forecast', { meter, hours: FORECAST_HOURS }, signal),
    enabled: enabled && meter !== '',
    staleTime: 60_000,
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
