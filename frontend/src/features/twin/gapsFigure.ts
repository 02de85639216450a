// The gaps timeline's figure as data (kept apart from Plotly so it tests in jsdom): one horizontal
// bar per gap from its start to its end over the window. A gap too short to see at the window's
// scale is drawn at least a few pixels wide; its hover text keeps the real times and length.
import type { Data, Layout } from 'plotly.js';
import type { DataGap } from '../../api/types';
import { formatDateTime, formatDuration } from '../../lib/format';
import { parseTime } from '../../lib/time';

const GRID = 'rgba(148, 163, 184, 0.16)';
export const GAP_COLOUR = '#fbbf24';
export const TIMELINE_HEIGHT = 96;
/** The narrowest bar, in pixels, so that a 30 s gap in 30 days is still visible. */
const MIN_BAR_PX = 3;

export interface GapsFigure {
  data: Data[];
  layout: Partial<Layout>;
}

export interface GapBar {
  start: number;
  /** Drawn length in ms (at least MIN_BAR_PX at this width). */
  length: number;
  text: string;
}

/** The gaps as bars over [start, end] drawn `width` pixels wide. */
export function gapBars(
  gaps: readonly DataGap[],
  start: number,
  end: number,
  width: number,
): GapBar[] {
  const plotWidth = Math.max(width - 60, 50);
  const minLength = ((end - start) / plotWidth) * MIN_BAR_PX;
  return gaps.flatMap((gap) => {
    const from = parseTime(gap.start);
    const to = parseTime(gap.end);
    if (!Number.isFinite(from) || !Number.isFinite(to)) return [];
    return [
      {
        start: from,
        length: Math.max(to - from, minLength),
        text: `${formatDateTime(from)} – ${formatDateTime(to)} UTC (${formatDuration(gap.seconds)})`,
      },
    ];
  });
}

export function gapsFigure(
  gaps: readonly DataGap[],
  window: { start: string; end: string },
  width: number,
): GapsFigure {
  const start = parseTime(window.start);
  const end = parseTime(window.end);
  const bars = gapBars(gaps, start, end, width);
  return {
    data: [
      {
        type: 'bar',
        orientation: 'h',
        name: 'gaps',
        // On a date axis a horizontal bar runs from `base` (a time) for `x` milliseconds.
        base: bars.map((b) => b.start),
        x: bars.map((b) => b.length),
        y: bars.map(() => 'gaps'),
        width: bars.map(() => 0.6),
        marker: { color: GAP_COLOUR },
        hovertext: bars.map((b) => b.text),
        hovertemplate: '%{hovertext}<extra>no data</extra>',
      } as Data,
    ],
    layout: {
      width,
      height: TIMELINE_HEIGHT,
      autosize: false,
      margin: { l: 44, r: 16, t: 6, b: 28 },
      showlegend: false,
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { family: 'system-ui, sans-serif', size: 10, color: '#cbd5e1' },
      bargap: 0,
      xaxis: {
        type: 'date',
        gridcolor: GRID,
        linecolor: GRID,
        ...(Number.isFinite(start) && Number.isFinite(end) ? { range: [start, end] } : {}),
      },
      yaxis: { type: 'category', fixedrange: true, showgrid: false },
    },
  };
}
