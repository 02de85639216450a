// Energy answers for component tests: a site's consumption per day with cost and counter events,
// its monthly peaks and the hour × weekday heatmap.
import type { Consumption, EnergyHeatmap, PeakList, TwinList } from '../api/types';

export function makeMeters(sites: string[]): TwinList {
  const items = sites.map((site, i) => ({
    id: `meter-${String(i + 1).padStart(4, '0')}`,
    machine_type: 'energy_meter',
    site,
    line: 'line-1',
  }));
  return { count: items.length, items } as unknown as TwinList;
}

export function makeConsumption(overrides: Partial<Consumption> = {}): Consumption {
  const flags = { resets: 0, rollovers: 0, replacements: 0, interpolated: 0 };
  return {
    scope: 'site',
    id: 'plant-a',
    bucket: 'day',
    start: '2026-12-01T23:00:00Z',
    end: '2026-12-04T23:00:00Z',
    tz: 'Europe/Berlin',
    currency: 'EUR',
    tariff_id: 1,
    meters: ['meter-0001', 'meter-0002'],
    total_kwh: 1234.5,
    total_cost: 259.25,
    flags: { resets: 1, rollovers: 2, replacements: 0, interpolated: 3 },
    empty: false,
    note: null,
    source: 'rollup:1h',
    items: [
      {
        start: '2026-12-01T23:00:00Z',
        end: '2026-12-02T23:00:00Z',
        kwh: 400,
        cost: 84,
        flags: { ...flags, resets: 1 },
      },
      {
        start: '2026-12-02T23:00:00Z',
        end: '2026-12-03T23:00:00Z',
        kwh: 834.5,
        cost: 175.25,
        flags: { ...flags, rollovers: 2, interpolated: 3 },
      },
      { start: '2026-12-03T23:00:00Z', end: '2026-12-04T23:00:00Z', kwh: null, cost: null, flags },
    ],
    ...overrides,
  };
}

export function makePeaks(overrides: Partial<PeakList> = {}): PeakList {
  return {
    site: 'plant-a',
    tz: 'Europe/Berlin',
    meters: ['meter-0001', 'meter-0002'],
    empty: false,
    note: null,
    method: '15-minute average',
    items: [
      {
        month: '2026-11',
        start: '2026-10-31T23:00:00Z',
        end: '2026-11-30T23:00:00Z',
        peak_kw: 312.4,
        at: '2026-11-18T07:15:00Z',
        intervals: 2880,
      },
      {
        month: '2026-12',
        start: '2026-11-30T23:00:00Z',
        end: '2026-12-31T23:00:00Z',
        peak_kw: null,
        at: null,
        intervals: 0,
      },
    ],
    ...overrides,
  };
}

export function makeHeatmap(overrides: Partial<EnergyHeatmap> = {}): EnergyHeatmap {
  const kwh = Array.from({ length: 7 }, (_, d) =>
    Array.from({ length: 24 }, (_, h): number => (d < 5 && h >= 8 && h < 18 ? 40 : 10)),
  );
  const hours = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 4));
  // No data on Sunday 03:00.
  kwh[6]![3] = 0;
  hours[6]![3] = 0;
  return {
    site: 'plant-a',
    start: '2026-11-06T23:00:00Z',
    end: '2026-12-04T23:00:00Z',
    tz: 'Europe/Berlin',
    meters: ['meter-0001', 'meter-0002'],
    weekdays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    kwh,
    hours,
    total_kwh: 3360,
    empty: false,
    note: null,
    ...overrides,
  };
}
