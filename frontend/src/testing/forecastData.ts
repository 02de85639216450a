// Forecast answers for tests: a sensor's next minutes and a meter's next hours, or none with the
// API's note (too little history).
import type { EnergyForecast, ForecastPoint, SensorForecast } from '../api/types';

/** `count` steps of `stepMs` from `first`: means rising by 1 from `start`, each ± 2. */
export function forecastPoints(
  first: string,
  count: number,
  stepMs: number,
  start = 60,
): ForecastPoint[] {
  return Array.from({ length: count }, (_, i) => ({
    ts: new Date(Date.parse(first) + i * stepMs).toISOString(),
    mean: start + i,
    lo: start + i - 2,
    hi: start + i + 2,
  }));
}

export function makeSensorForecast(overrides: Partial<SensorForecast> = {}): SensorForecast {
  return {
    machine_id: 'pump-0001',
    sensor: 'temperature_c',
    method: 'ets(damped trend)',
    resolution: '1m',
    fitted_on: { start: '2026-11-23T08:00:00Z', end: '2026-11-23T09:58:00Z', points: 119 },
    items: forecastPoints('2026-11-23T09:59:00Z', 5, 60_000),
    interval: 0.9,
    note: null,
    ...overrides,
  };
}

/** What the API says when a sensor has too little history. */
export function emptySensorForecast(sensor: string, note: string): SensorForecast {
  return makeSensorForecast({
    sensor,
    method: 'none',
    fitted_on: { start: null, end: null, points: 0 },
    items: [],
    note,
  });
}

export function makeEnergyForecast(overrides: Partial<EnergyForecast> = {}): EnergyForecast {
  return {
    meter: 'meter-0002',
    unit: 'kWh',
    method: 'holt_winters(season=24)',
    resolution: '1h',
    fitted_on: { start: '2026-11-20T00:00:00Z', end: '2026-12-04T22:00:00Z', points: 359 },
    items: forecastPoints('2026-12-04T23:00:00Z', 24, 3_600_000, 10),
    interval: 0.9,
    note: null,
    ...overrides,
  };
}
