// The consumption chart's figure: kWh per bucket as bars (left axis) and cost as a line with markers
// (right axis, in the tariff's currency). Buckets without readings have no bar (null), not a zero.
// Hourly buckets of one meter may carry its forecast after them: kWh per hour as a dashed line in
// its interval's band, on the same axis (whole other buckets would not compare with hours).
import type { Data, Layout } from 'plotly.js';
import type { Consumption, EnergyForecast } from '../../api/types';
import { forecastLabel, forecastTraces } from '../../lib/forecast';
import { bucketLabel } from './energyWindow';

export function consumptionFigure(
  data: Consumption,
  width: number,
  forecast: EnergyForecast | null = null,
): { data: Data[]; layout: Partial<Layout> } {
  const x = data.items.map((b) => bucketLabel(b.start, data.bucket, data.tz));
  const traces: Data[] = [
    {
      type: 'bar',
      name: 'kWh',
      x,
      y: data.items.map((b) => b.kwh),
      marker: { color: data.items.map((b) => (b.flags.interpolated > 0 ? '#93c5fd' : '#3b82f6')) },
      hovertemplate: '%{x}: %{y:,.1f} kWh<extra></extra>',
    },
  ];
  const priced = data.items.some((b) => b.cost !== null);
  if (priced) {
    traces.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `Cost (${data.currency ?? ''})`,
      x,
      y: data.items.map((b) => b.cost),
      yaxis: 'y2',
      line: { color: '#f59e0b' },
      hovertemplate: `%{x}: %{y:,.2f} ${data.currency ?? ''}<extra></extra>`,
    });
  }
  const ahead =
    forecast && data.bucket === 'hour'
      ? forecastTraces(forecast.items, {
          name: forecastLabel(forecast.method, forecast.interval),
          interval: forecast.interval,
          // The bars' categories: its hours extend the axis past the last bucket.
          x: (ts) => bucketLabel(ts, 'hour', data.tz),
          valueFormat: ',.1f',
          unit: forecast.unit,
          hoverX: true,
          showlegend: true,
        })
      : [];
  traces.push(...ahead);
  const legend = priced || ahead.length > 0;
  const layout: Partial<Layout> = {
    width,
    height: 280,
    margin: { l: 56, r: priced ? 64 : 16, t: 8, b: 56 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: '#cbd5e1', size: 11 },
    showlegend: legend,
    legend: { orientation: 'h', y: 1.12 },
    xaxis: { type: 'category', automargin: true },
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
