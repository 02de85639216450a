// The consumption chart's figure: kWh per bucket as bars (left axis) and cost as a line with markers
// (right axis, in the tariff's currency). Buckets without readings have no bar (null), not a zero.
// Hourly buckets of one meter may carry its forecast after them: kWh per hour as a dashed line in
// its interval's band, on the same axis (whole other buckets would not compare with hours). The x axis
// is time in the plant's zone with a few round ticks, not one label per bucket.
import type { Data, Layout } from 'plotly.js';
import type { Consumption, EnergyForecast } from '../../api/types';
import { forecastLabel, forecastTraces } from '../../lib/forecast';
import { bucketLabel, wallClockMs } from './energyWindow';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Most x tick labels on the widest chart (Plotly picks whole hours, days, weeks or months). */
export const MAX_TICKS = 12;

/**
 * The time axis: the plant's wall clock on a Plotly date axis (wallClockMs), so however many buckets
 * there are (a week of hours is 168) Plotly labels at most `MAX_TICKS` round instants, fewer on a
 * narrow chart, each formatted for the spacing it chose.
 */
export function timeAxis(width: number, bucket: string): Partial<Layout['xaxis']> {
  return {
    type: 'date',
    nticks: Math.max(2, Math.min(MAX_TICKS, Math.floor(width / 100))),
    tickformatstops: [
      // Hours apart: Plotly's own format (the time, and the date where the day changes).
      { dtickrange: [null, DAY_MS - 1], value: '' },
      { dtickrange: [DAY_MS, 7 * DAY_MS - 1], value: '%a %d %b' },
      { dtickrange: [7 * DAY_MS, 14 * DAY_MS], value: '%d %b' },
      { dtickrange: ['M1', 'M6'], value: '%b %Y' },
      { dtickrange: ['M12', null], value: '%Y' },
    ],
    // The forecast's hover: its points sit mid-hour, it is about the hour that starts there.
    ...(bucket === 'hour' ? { hoverformat: '%a, %b %d, %H:00' } : {}),
    gridcolor: 'rgba(148,163,184,0.12)',
    automargin: true,
  };
}

export function consumptionFigure(
  data: Consumption,
  width: number,
  forecast: EnergyForecast | null = null,
): { data: Data[]; layout: Partial<Layout> } {
  // Each bar fills the middle 80% of its bucket's time (a month's bar is a month wide); the cost
  // line's points are the buckets' middles. Hovers name the bucket as the table does.
  const starts = data.items.map((b) => wallClockMs(b.start, data.tz));
  const spans = data.items.map((b) => Date.parse(b.end) - Date.parse(b.start));
  const labels = data.items.map((b) => bucketLabel(b.start, data.bucket, data.tz));
  const traces: Data[] = [
    {
      type: 'bar',
      name: 'kWh',
      x: starts,
      width: spans.map((s) => 0.8 * s),
      offset: spans.map((s) => 0.1 * s),
      y: data.items.map((b) => b.kwh),
      customdata: labels,
      marker: { color: data.items.map((b) => (b.flags.interpolated > 0 ? '#93c5fd' : '#3b82f6')) },
      hovertemplate: '%{customdata}: %{y:,.1f} kWh<extra></extra>',
    },
  ];
  const priced = data.items.some((b) => b.cost !== null);
  if (priced) {
    traces.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `Cost (${data.currency ?? ''})`,
      x: starts.map((x, i) => x + (spans[i] ?? 0) / 2),
      y: data.items.map((b) => b.cost),
      customdata: labels,
      yaxis: 'y2',
      line: { color: '#f59e0b' },
      marker: { size: data.items.length > 100 ? 3 : 6 },
      hovertemplate: `%{customdata}: %{y:,.2f} ${data.currency ?? ''}<extra></extra>`,
    });
  }
  const ahead =
    forecast && data.bucket === 'hour'
      ? forecastTraces(forecast.items, {
          name: forecastLabel(forecast.method, forecast.interval),
          interval: forecast.interval,
          // The middle of each hour, as the bars' (the axis grows to hold them).
          x: (ts) => wallClockMs(ts, data.tz) + HOUR_MS / 2,
          valueFormat: ',.1f',
          unit: forecast.unit,
          hoverX: true,
          showlegend: true,
        })
      : [];
  traces.push(...ahead);
  // The buckets' time and the forecast's, exactly: Plotly pads a range with markers by 5% a side.
  let lo = Infinity;
  let hi = -Infinity;
  starts.forEach((start, i) => {
    lo = Math.min(lo, start);
    hi = Math.max(hi, start + (spans[i] ?? 0));
  });
  if (ahead.length > 0 && forecast) {
    for (const p of forecast.items) hi = Math.max(hi, wallClockMs(p.ts, data.tz) + HOUR_MS);
  }
  const range = Number.isFinite(lo) && Number.isFinite(hi) && hi > lo ? [lo, hi] : null;
  const legend = priced || ahead.length > 0;
  const layout: Partial<Layout> = {
    width,
    height: 280,
    margin: { l: 56, r: priced ? 64 : 16, t: 8, b: 40 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: '#cbd5e1', size: 11 },
    showlegend: legend,
    legend: { orientation: 'h', y: 1.12 },
    xaxis: { ...timeAxis(width, data.bucket), ...(range ? { range } : { autorange: true }) },
    yaxis: { title: { text: 'kWh' }, rangemode: 'tozero', gridcolor: 'rgba(148,163,184,0.2)' },
    ...(priced
      ? {
          yaxis2: {
            title: { text: data.currency ?? 'cost' },
            overlaying: 'y',
            side: 'right',
            rangemode: 'tozero',
            showgrid: false,
          },
        }
      : {}),
  };
  return { data: traces, layout };
}
