// The flood chart's figure as data (kept apart from Plotly so it tests in jsdom): alarms per
// window per site as bars, windows over the ISA-18.2 threshold drawn in the alarm colour, and the
// threshold itself as a dashed line across the chart.
import type { Data, Layout, Shape } from 'plotly.js';
import { parseTime } from '../../lib/time';
import type { AlarmReports } from './types';

const GRID = 'rgba(148, 163, 184, 0.16)';
const SITE_COLOURS = ['#60a5fa', '#a78bfa', '#34d399', '#f472b6', '#94a3b8', '#22d3ee'];
export const FLOOD_COLOUR = '#ef4444';

export interface FloodFigure {
  data: Data[];
  layout: Partial<Layout>;
}

export function floodFigure(report: AlarmReports, width: number): FloodFigure {
  const { threshold, window_s: windowS, windows } = report.flood;
  const sites = [...new Set(windows.map((w) => w.site ?? '(no site)'))].sort();
  const data: Data[] = sites.map((site, i) => {
    const mine = windows.filter((w) => (w.site ?? '(no site)') === site);
    const colour = SITE_COLOURS[i % SITE_COLOURS.length] ?? SITE_COLOURS[0];
    return {
      type: 'bar',
      name: site,
      // The bar sits at the middle of its window.
      x: mine.map((w) => parseTime(w.start) + (windowS * 1000) / 2),
      y: mine.map((w) => w.alarms),
      width: mine.map(() => windowS * 1000 * 0.9),
      marker: { color: mine.map((w) => (w.flood ? FLOOD_COLOUR : colour)) },
      hovertemplate: `${site}: %{y} alarms<extra>%{x|%H:%M} UTC</extra>`,
    };
  });
  const start = parseTime(report.start);
  const end = parseTime(report.end);
  const shapes: Array<Partial<Shape>> = [
    {
      type: 'line',
      xref: 'paper',
      yref: 'y',
      x0: 0,
      x1: 1,
      y0: threshold,
      y1: threshold,
      line: { color: FLOOD_COLOUR, width: 1.5, dash: 'dash' },
    },
  ];
  const peak = Math.max(threshold, ...windows.map((w) => w.alarms));
  return {
    data,
    layout: {
      width,
      height: 240,
      autosize: false,
      margin: { l: 52, r: 16, t: 24, b: 32 },
      barmode: 'group',
      showlegend: sites.length > 1,
      legend: { orientation: 'h', y: 1.15 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { family: 'system-ui, sans-serif', size: 10, color: '#cbd5e1' },
      shapes,
      annotations: [
        {
          xref: 'paper',
          yref: 'y',
          x: 0,
          y: threshold,
          xanchor: 'left',
          yanchor: 'bottom',
          text: `flood: more than ${threshold} per ${Math.round(windowS / 60)} min`,
          showarrow: false,
          bgcolor: 'rgba(17, 24, 34, 0.85)',
          font: { color: FLOOD_COLOUR, size: 10 },
        },
      ],
      xaxis: {
        type: 'date',
        gridcolor: GRID,
        linecolor: GRID,
        ...(Number.isFinite(start) && Number.isFinite(end) ? { range: [start, end] } : {}),
      },
      yaxis: {
        gridcolor: GRID,
        zeroline: false,
        rangemode: 'tozero',
        range: [0, Math.ceil(peak * 1.15) + 1],
        title: { text: 'alarms / window' },
      },
    },
  };
}
