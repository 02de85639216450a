// Forecasts as Plotly traces, for the machine charts and the Energy view alike: the mean as a dashed
// line after the history, the prediction interval [lo, hi] as a light band behind it (a pair of
// traces: the upper one filled down to the lower, `fill: 'tonexty'`). Pure, so it tests in jsdom.
import type { Data } from 'plotly.js';
import type { ForecastPoint } from '../api/types';

export const FORECAST_LINE = '#c084fc';
export const FORECAST_BAND = 'rgba(192, 132, 252, 0.18)';

/** "90%" for 0.9, "97.5%" for 0.975. */
export function intervalPercent(interval: number): string {
  return `${Number((interval * 100).toFixed(1))}%`;
}

/** The forecast's name in legends and hovers: "forecast (ets(damped trend), 90%)". */
export function forecastLabel(method: string, interval: number): string {
  return `forecast (${method}, ${intervalPercent(interval)})`;
}

export interface ForecastStyle {
  /** Legend and hover name, usually `forecastLabel(method, interval)`. */
  name: string;
  /** The interval's nominal coverage (0.9), said in the hover. */
  interval: number;
  /** A point's x: epoch ms on a date axis (the default), or a category's label. */
  x?: (ts: string) => number | string;
  /** d3 format of values in the hover (default `.3~f`). */
  valueFormat?: string;
  /** Appended to values in the hover ("kWh", "°C"). */
  unit?: string;
  /** Start the hover with the point's x (where the figure's hover does not show it already). */
  hoverX?: boolean;
  /** The second y axis (`y2`) instead of the first. */
  yaxis?: string;
  /** Show the mean in the figure's legend (the band never is). */
  showlegend?: boolean;
}

const epochMs = (ts: string): number => Date.parse(ts);

/**
 * The traces of a forecast, in drawing order: the interval's lower edge (no line), its upper edge
 * filled down to it (`tonexty` fills to the trace just before), then the mean as a dashed line on
 * top with the interval in its hover. No points, no traces.
 */
export function forecastTraces(items: readonly ForecastPoint[], style: ForecastStyle): Data[] {
  if (items.length === 0) return [];
  const toX = style.x ?? epochMs;
  const x = items.map((p) => toX(p.ts));
  const format = style.valueFormat ?? '.3~f';
  const unit = style.unit ? ` ${style.unit}` : '';
  const edge = {
    type: 'scatter',
    mode: 'lines',
    x,
    line: { width: 0, color: FORECAST_LINE },
    hoverinfo: 'skip',
    showlegend: false,
    legendgroup: 'forecast',
    ...(style.yaxis ? { yaxis: style.yaxis } : {}),
  } as const;
  return [
    { ...edge, name: `${style.name} low`, y: items.map((p) => p.lo) },
    {
      ...edge,
      name: `${style.name} high`,
      y: items.map((p) => p.hi),
      fill: 'tonexty',
      fillcolor: FORECAST_BAND,
    },
    {
      type: 'scatter',
      mode: 'lines',
      name: style.name,
      x,
      y: items.map((p) => p.mean),
      customdata: items.map((p) => [p.lo, p.hi]),
      line: { width: 1.5, dash: 'dash', color: FORECAST_LINE },
      hovertemplate:
        `${style.hoverX ? '%{x}: ' : ''}%{y:${format}}${unit} (${intervalPercent(style.interval)}: ` +
        `%{customdata[0]:${format}} – %{customdata[1]:${format}})<extra>${style.name}</extra>`,
      showlegend: style.showlegend ?? false,
      legendgroup: 'forecast',
      ...(style.yaxis ? { yaxis: style.yaxis } : {}),
    },
  ];
}

/** Every value the traces draw (means and interval edges), for a y range that shows them all. */
export function forecastValues(items: readonly ForecastPoint[]): number[] {
  return items.flatMap((p) => [p.lo, p.mean, p.hi]);
}

/** Epoch ms of the last point; null without points. */
export function forecastEnd(items: readonly ForecastPoint[]): number | null {
  let end: number | null = null;
  for (const p of items) {
    const t = Date.parse(p.ts);
    if (Number.isFinite(t) && (end === null || t > end)) end = t;
  }
  return end;
}

/** The time range widened to reach `end` (a forecast's last point); as it was when it already does. */
export function extendRange(
  range: readonly [number, number] | null,
  end: number | null,
): [number, number] | null {
  if (range === null) return null;
  if (end === null || end <= range[1]) return [range[0], range[1]];
  return [range[0], end];
}

/**
 * The notes of forecasts that have no points, one line per distinct note with the series it is
 * about (`[series, note]` in, in the order given), so the same reason is said once.
 */
export function groupNotes(
  notes: Iterable<readonly [string, string]>,
): Array<{ note: string; names: string[] }> {
  const byNote = new Map<string, string[]>();
  for (const [name, note] of notes) {
    const names = byNote.get(note);
    if (names) names.push(name);
    else byNote.set(note, [name]);
  }
  return [...byNote].map(([note, names]) => ({ note, names }));
}
