// What the machine chart shows of its sensors' forecasts: the answers to draw, the legend entry
// (model and interval) and, for sensors without a forecast, why not, as short notes. Pure.
import { problemOf } from '../../api/client';
import type { SensorForecast } from '../../api/types';
import { forecastLabel, groupNotes } from '../../lib/forecast';
import { sensorInfo } from '../../lib/format';
import type { ForecastResult } from './api';

export interface ForecastView {
  /** The answers per sensor (with or without points: the chart draws those with). */
  forecasts: Map<string, SensorForecast>;
  /** "forecast (ets(damped trend), 90%)"; each distinct model once; null when nothing is drawn. */
  legend: string | null;
  /** Why sensors have no forecast: each reason once, with the sensors it is about. */
  notes: Array<{ note: string; names: string[] }>;
}

/**
 * `results` per sensor of `sensors` (those not answered yet are left out). A forecast without
 * points says why in its note; a failed request is a note too, never an error on the page: the
 * chart is whole without its forecast.
 */
export function forecastView(
  results: ReadonlyMap<string, ForecastResult>,
  sensors: readonly string[],
): ForecastView {
  const forecasts = new Map<string, SensorForecast>();
  const labels = new Set<string>();
  const reasons: Array<[string, string]> = [];
  for (const sensor of sensors) {
    const result = results.get(sensor);
    if (!result) continue;
    if ('error' in result) {
      reasons.push([sensor, `unavailable (${problemOf(result.error).title})`]);
      continue;
    }
    const { forecast } = result;
    forecasts.set(sensor, forecast);
    if (forecast.items.length > 0) labels.add(forecastLabel(forecast.method, forecast.interval));
    else reasons.push([sensor, forecast.note ?? 'no forecast']);
  }
  const notes = groupNotes(reasons).map(({ note, names }) => ({
    note,
    names:
      names.length === sensors.length && sensors.length > 1
        ? ['all sensors']
        : names.map((n) => sensorInfo(n).label),
  }));
  return { forecasts, legend: labels.size > 0 ? [...labels].join('; ') : null, notes };
}
