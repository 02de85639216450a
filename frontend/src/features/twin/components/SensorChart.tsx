// Live small multiples: one Plotly chart per sensor, with the normal operating range shaded and
// anomaly episodes and the sensor's threshold alarms (raised: solid line, cleared: dashed) marked;
// history charts of min/max series also shade the band between each pixel column's lowest and
// highest value. Plotly is driven directly (no React reconciliation of figures), and cheaply:
// - a new sample rewrites the line's SVG path in place from Plotly's axis scales (`drawLine`):
//   under a millisecond, in one frame. When an axis moves too (the live window steps once a
//   minute; the y range is sticky), `Plotly.relayout` redraws the axes first, synchronously
//   (a few ms, same frame). Plotly's copy of the data catches up only while the pointer is on
//   the chart (hover reads it; `Plotly.animate` then). The whole figure is rebuilt
//   (`Plotly.react`) only when its layout changes (band, anomaly episodes, paused, width, time
//   scale);
// - explicit width, axis types and ranges, so Plotly never measures the page or guesses types;
//   the y range is sticky (it only changes when the data leaves it or shrinks well inside it);
// - every redraw is a job of the page's UI queue: one per frame, never in the same frame as a
//   fleet render, and charts scrolled out of view wait until they are visible.
// Dragging across a chart selects a time range (`onZoom`); the caller fetches that range from
// the server and all charts follow. A sensor's forecast, when given, is drawn after its data (a
// dashed mean in its interval's band) and the shared time axis widens to reach the last one.
// Loaded lazily: Plotly is most of the bundle.
import { memo, useEffect, useMemo, useRef } from 'react';
import Plotly from 'plotly.js-basic-dist-min';
import type { AnimationOpts, Config, Data, Layout, PlotRelayoutEvent, Shape } from 'plotly.js';
import type { SensorForecast } from '../../../api/types';
import {
  extendRange,
  forecastEnd,
  forecastLabel,
  forecastTraces,
  forecastValues,
} from '../../../lib/forecast';
import type { SeriesSnapshot } from '../../../lib/ringBuffer';
import { priorityColour } from '../../../lib/alarms';
import { sensorInfo } from '../../../lib/format';
import { uiQueue } from '../../../lib/frameQueue';
import {
  GAP_MS,
  marksInRange,
  stickyRange,
  withGaps,
  type AlarmMark,
  type Band,
  type DrawnMark,
  type Envelope,
  type Episode,
} from '../chartData';
import { recordChartDraw, recordChartUpdate } from '../chartTiming';

const PLOT_HEIGHT = 116;
const GRID = 'rgba(148, 163, 184, 0.16)';
const LINE = '#60a5fa';
const BAND = 'rgba(74, 222, 128, 0.10)';
const ANOMALY = 'rgba(248, 113, 113, 0.22)';
const MINMAX = 'rgba(96, 165, 250, 0.25)';
const CONFIG: Partial<Config> = {
  displaylogo: false,
  // The width is measured here (ResizeObserver) and passed in: Plotly's own resize handling
  // would read the page's layout on every redraw.
  responsive: false,
  displayModeBar: false,
};
/** A new sample: move the trace and the ranges, no full redraw. */
const STEP: Partial<AnimationOpts> = {
  mode: 'immediate',
  transition: { duration: 0 },
  frame: { duration: 0, redraw: false },
};

export type TimeRange = [number, number];

export interface SensorChartProps {
  machineId: string;
  sensors: readonly string[];
  /** Points per sensor; a new Map identity means new data (rebuilt once per frame at most). */
  series: ReadonlyMap<string, SeriesSnapshot>;
  /** The normal operating range per sensor, shaded. */
  bands?: ReadonlyMap<string, Band>;
  episodes?: readonly Episode[];
  /** Threshold alarms per sensor (`<kind>:<sensor>` conditions). */
  alarms?: ReadonlyMap<string, readonly AlarmMark[]>;
  revision: number;
  /** Greys the plot area while the data is not live. */
  paused: boolean;
  /** The time range shown (by default the span of the data), widened to the forecasts' end. */
  range?: TimeRange | null;
  /** A time range dragged out on a chart, or null when the user resets the zoom (double click). */
  onZoom?: (range: TimeRange | null) => void;
  /** The min/max band per sensor (history of min/max series); a new Map identity means new bands. */
  envelopes?: ReadonlyMap<string, Envelope> | null;
  /** Points further apart than this are not joined (default GAP_MS, the live rate's). */
  gapMs?: number;
  /** A forecast per sensor, drawn after its data; a new Map identity means new forecasts. */
  forecasts?: ReadonlyMap<string, SensorForecast> | null;
}

interface PlotProps {
  machineId: string;
  sensor: string;
  points: SeriesSnapshot;
  band: Band | undefined;
  episodes: readonly Episode[] | undefined;
  /** This sensor's alarms inside the range. */
  marks: readonly DrawnMark[];
  /** Shared x range so the small multiples line up. */
  range: TimeRange | null;
  paused: boolean;
  onZoom: ((range: TimeRange | null) => void) | undefined;
  envelope: Envelope | undefined;
  gapMs: number;
  forecast: DrawnForecast | undefined;
}

/** A forecast ready to draw: its traces, the values the y range must show, an id for the layout key. */
interface DrawnForecast {
  traces: Data[];
  values: number[];
  end: number | null;
  id: number;
}

/** One DrawnForecast per answer: an unchanged answer keeps its object, so its chart does not redraw. */
const drawnForecasts = new WeakMap<SensorForecast, DrawnForecast>();
let nextForecastId = 1;

function drawnForecast(forecast: SensorForecast): DrawnForecast {
  let drawn = drawnForecasts.get(forecast);
  if (!drawn) {
    drawn = {
      traces: forecastTraces(forecast.items, {
        name: forecastLabel(forecast.method, forecast.interval),
        interval: forecast.interval,
        unit: sensorInfo(forecast.sensor).unit,
      }),
      values: forecastValues(forecast.items),
      end: forecastEnd(forecast.items),
      id: nextForecastId,
    };
    nextForecastId += 1;
    drawnForecasts.set(forecast, drawn);
  }
  return drawn;
}

type Trace = ReturnType<typeof withGaps>;

/** Identity of an envelope in the layout key (a new envelope object is a full redraw). */
const envelopeIds = new WeakMap<Envelope, number>();
let nextEnvelopeId = 1;

function envelopeId(envelope: Envelope | undefined): number {
  if (!envelope) return 0;
  let id = envelopeIds.get(envelope);
  if (id === undefined) {
    id = nextEnvelopeId;
    nextEnvelopeId += 1;
    envelopeIds.set(envelope, id);
  }
  return id;
}

/**
 * The band as one closed shape per run of columns (a gap longer than `gapMs` ends a run): along the
 * highs, back along the lows. Plotly fills each null-separated segment of a `toself` trace on its own,
 * so nothing is filled across a gap.
 */
function bandTrace(envelope: Envelope, gapMs: number): Data {
  const x: Array<number | null> = [];
  const y: Array<number | null> = [];
  let from = 0;
  const close = (to: number) => {
    if (x.length > 0) {
      x.push(null);
      y.push(null);
    }
    for (let i = from; i < to; i += 1) {
      x.push(envelope.x[i] ?? null);
      y.push(envelope.hi[i] ?? null);
    }
    for (let i = to - 1; i >= from; i -= 1) {
      x.push(envelope.x[i] ?? null);
      y.push(envelope.lo[i] ?? null);
    }
    from = to;
  };
  for (let i = 1; i < envelope.x.length; i += 1) {
    if ((envelope.x[i] ?? 0) - (envelope.x[i - 1] ?? 0) > gapMs) close(i);
  }
  close(envelope.x.length);
  return {
    type: 'scatter',
    mode: 'lines',
    name: 'min … max',
    x,
    y,
    connectgaps: false,
    fill: 'toself',
    fillcolor: MINMAX,
    line: { width: 0 },
    hoverinfo: 'skip',
  };
}

/** The line first: `drawLine` rewrites the first trace's path. */
function buildData(
  sensor: string,
  line: Trace,
  envelope: Envelope | undefined,
  gapMs: number,
  forecast: DrawnForecast | undefined,
): Data[] {
  const { label, unit } = sensorInfo(sensor);
  return [
    {
      type: 'scatter',
      mode: 'lines',
      name: sensor,
      // Epoch milliseconds are valid values on a date axis.
      x: line.x,
      y: line.y,
      line: { width: 1.5, color: LINE },
      connectgaps: false,
      hovertemplate: `%{y:.3~f} ${unit}<extra>${label}</extra>`,
    },
    ...(envelope ? [bandTrace(envelope, gapMs)] : []),
    // Copies: Plotly keeps (and annotates) the traces it is given.
    ...(forecast?.traces ?? []).map((trace) => ({ ...trace })),
  ];
}

function tickFormat(range: TimeRange | null): string {
  const span = range ? range[1] - range[0] : 0;
  if (span > 86_400_000) return '%b %d';
  return span > 15 * 60_000 ? '%H:%M' : '%H:%M:%S';
}

/** What the figure looks like apart from the data and the ranges: a change means a full redraw. */
function layoutKey(
  { band, episodes, marks, range, paused, envelope, gapMs, forecast }: PlotProps,
  width: number,
): string {
  const spans = (episodes ?? []).map((e) => `${e.start}-${e.end}`).join(',');
  const alarms = marks.map((m) => `${m.id}:${m.from}-${m.to}:${m.priority}`).join(',');
  return `${width}|${band ? `${band.lo},${band.hi}` : ''}|${spans}|${alarms}|${paused}|${tickFormat(range)}|${envelopeId(envelope)}|${gapMs}|${forecast?.id ?? 0}`;
}

/** An alarm: its span lightly shaded, a solid line where it was raised, a dashed one where it cleared. */
function alarmShapes(mark: DrawnMark): Array<Partial<Shape>> {
  const colour = priorityColour(mark.priority);
  const shapes: Array<Partial<Shape>> = [
    {
      type: 'rect',
      xref: 'x',
      yref: 'paper',
      x0: mark.from,
      x1: Math.max(mark.to, mark.from + 1000),
      y0: 0,
      y1: 1,
      fillcolor: colour,
      opacity: 0.08,
      line: { width: 0 },
      layer: 'below',
    },
  ];
  for (const [x, dash] of [
    [mark.raised, 'solid'],
    [mark.cleared, 'dash'],
  ] as const) {
    if (x === null) continue;
    shapes.push({
      type: 'line',
      xref: 'x',
      yref: 'paper',
      x0: x,
      x1: x,
      y0: 0,
      y1: 1,
      line: { color: colour, width: 1.5, dash },
    });
  }
  return shapes;
}

function buildLayout(
  { band, episodes, marks, range, paused }: PlotProps,
  width: number,
  yRange: TimeRange | null,
): Partial<Layout> {
  const shapes: Array<Partial<Shape>> = [];
  if (band) {
    shapes.push({
      type: 'rect',
      xref: 'paper',
      yref: 'y',
      x0: 0,
      x1: 1,
      y0: band.lo,
      y1: band.hi,
      fillcolor: BAND,
      line: { width: 0 },
      layer: 'below',
    });
  }
  for (const episode of episodes ?? []) {
    shapes.push({
      type: 'rect',
      xref: 'x',
      yref: 'paper',
      x0: episode.start,
      x1: Math.max(episode.end, episode.start + 1000),
      y0: 0,
      y1: 1,
      fillcolor: ANOMALY,
      line: { width: 0 },
      layer: 'below',
    });
  }
  for (const mark of marks) shapes.push(...alarmShapes(mark));
  return {
    width,
    height: PLOT_HEIGHT,
    autosize: false,
    // Fixed margins: automargin would cost a second layout pass on every redraw.
    // The right margin holds half a tick label at the live edge.
    margin: { l: 52, r: 26, t: 6, b: 22 },
    showlegend: false,
    hovermode: 'x',
    dragmode: 'zoom',
    shapes,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: paused ? 'rgba(148, 163, 184, 0.10)' : 'rgba(0,0,0,0)',
    font: { family: 'system-ui, sans-serif', size: 10, color: '#cbd5e1' },
    xaxis: {
      type: 'date',
      gridcolor: GRID,
      linecolor: GRID,
      // One line of tick labels (Plotly's default adds the date on a second line).
      tickformat: tickFormat(range),
      // Labels past the plot are not measured and hidden on every redraw.
      ticklabeloverflow: 'allow',
      ...(range ? { range } : { autorange: true }),
    },
    yaxis: {
      type: 'linear',
      gridcolor: GRID,
      zeroline: false,
      nticks: 4,
      ticklabeloverflow: 'allow',
      // Zooming selects time; the y range follows the data.
      fixedrange: true,
      ...(yRange ? { range: yRange } : { autorange: true }),
    },
  };
}

/** The trace's line as Plotly draws it (an internal: checked before use). */
const LINE_PATH = '.scatterlayer .trace path.js-line';

/** Plotly's axis after a draw: linear value (epoch ms on a date axis) to pixels in the plot area. */
interface DrawnAxis {
  l2p(value: number): number;
}

/**
 * A new sample when neither axis moved: the trace's SVG path is rewritten in place from Plotly's
 * own axis scales, instead of `Plotly.animate` (which recomputes the trace and the figure's
 * layers over the next frames). False when the figure is not in a state to do so.
 */
function drawLine(element: HTMLElement, line: Trace): boolean {
  const layout = (element as unknown as { _fullLayout?: { xaxis?: DrawnAxis; yaxis?: DrawnAxis } })
    ._fullLayout;
  const path = element.querySelector<SVGPathElement>(LINE_PATH);
  const xa = layout?.xaxis;
  const ya = layout?.yaxis;
  if (!xa || !ya || !path || typeof xa.l2p !== 'function' || typeof ya.l2p !== 'function') {
    return false;
  }
  const parts: string[] = [];
  let pen = false;
  for (let i = 0; i < line.x.length; i += 1) {
    const y = line.y[i];
    const x = line.x[i];
    if (y === null || y === undefined || x === undefined) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${xa.l2p(x).toFixed(2)},${ya.l2p(y).toFixed(2)}`);
    pen = true;
  }
  path.setAttribute('d', parts.join(''));
  return true;
}

/** The figure has the line `drawLine` rewrites (Plotly's internals as expected). */
function drawnLine(element: HTMLElement): boolean {
  return element.querySelector(LINE_PATH) !== null;
}

/** What `plot` returns when it rewrote the line in place (nothing for the queue to wait on). */
const IN_PLACE = 'in place';

function sameRange(a: TimeRange | null, b: TimeRange | null): boolean {
  return a === b || (a !== null && b !== null && a[0] === b[0] && a[1] === b[1]);
}

/** The x range of a zoom (drag) or null for a reset (double click); undefined for other events. */
function zoomOf(event: PlotRelayoutEvent): TimeRange | null | undefined {
  const fields = event as Record<string, unknown>;
  if (fields['xaxis.autorange'] === true) return null;
  const from = fields['xaxis.range[0]'];
  const to = fields['xaxis.range[1]'];
  if (from === undefined || to === undefined) return undefined;
  // Plotly reports date-axis ranges as "YYYY-MM-DD HH:MM:SS.sss" strings in UTC.
  const ms = (value: unknown) =>
    typeof value === 'number' ? value : Date.parse(`${String(value).replace(' ', 'T')}Z`);
  const range: TimeRange = [ms(from), ms(to)];
  return Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[1] > range[0]
    ? range
    : undefined;
}

const SensorPlot = memo(function SensorPlot(props: PlotProps) {
  const ref = useRef<HTMLDivElement>(null);
  const visible = useRef(true);
  const width = useRef(0);
  /** layoutKey of the figure on screen; null until the first full draw. */
  const drawnKey = useRef<string | null>(null);
  const yRange = useRef<TimeRange | null>(null);
  /** The axis ranges on screen. */
  const drawnX = useRef<TimeRange | null>(null);
  const drawnY = useRef<TimeRange | null>(null);
  const listening = useRef(false);
  /** The line on screen is newer than Plotly's data (drawn in place by `drawLine`). */
  const modelBehind = useRef(false);
  const pointerIn = useRef(false);
  const latest = useRef(props);
  const key = `${props.machineId}/${props.sensor}`;

  /** Draws the newest props: moves the trace when the figure is the same, else rebuilds it. */
  const draw = useRef((): Promise<unknown> | undefined => undefined);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    /** Draws the newest props: Plotly's promise, `IN_PLACE`, or undefined when nothing was drawn. */
    const plot = (): Promise<unknown> | typeof IN_PLACE | undefined => {
      if ((!visible.current && drawnKey.current !== null) || width.current <= 0) return undefined;
      const current = latest.current;
      const line = withGaps(current.points, current.gapMs);
      const values = current.forecast ? line.y.concat(current.forecast.values) : line.y;
      yRange.current = stickyRange(yRange.current, values, current.band);
      const layout = layoutKey(current, width.current);
      if (drawnKey.current === layout && current.range) {
        // Same figure: move the trace, and the axes only when their ranges changed (the live
        // window steps once a minute; the y range is sticky).
        const ranges: Partial<Layout> = {};
        if (!sameRange(drawnX.current, current.range)) ranges.xaxis = { range: current.range };
        if (yRange.current && !sameRange(drawnY.current, yRange.current)) {
          ranges.yaxis = { range: yRange.current };
        }
        drawnX.current = current.range;
        drawnY.current = yRange.current;
        if (!pointerIn.current) {
          // Plotly's own copy of the data (its hover) catches up when the pointer comes in.
          if (!ranges.xaxis && !ranges.yaxis && drawLine(element, line)) {
            modelBehind.current = true;
            return IN_PLACE;
          }
          if (drawnLine(element)) {
            // An axis moved: Plotly redraws the axes (and its stale line) synchronously, and the
            // new line is drawn over it from the new scales, all in this frame.
            const update: Record<string, TimeRange> = {};
            if (ranges.xaxis) update['xaxis.range'] = current.range;
            if (ranges.yaxis && yRange.current) update['yaxis.range'] = yRange.current;
            return Plotly.relayout(element, update).then(() => {
              // Plotly's data is the previous sample's either way.
              modelBehind.current = true;
              drawLine(element, line);
            });
          }
        }
        modelBehind.current = false;
        return Plotly.animate(
          element,
          {
            data: [{ x: line.x, y: line.y }],
            traces: [0],
            ...(ranges.xaxis || ranges.yaxis ? { layout: ranges } : {}),
          },
          STEP,
        );
      }
      drawnX.current = current.range;
      drawnY.current = yRange.current;
      drawnKey.current = layout;
      modelBehind.current = false;
      return Plotly.react(
        element,
        buildData(current.sensor, line, current.envelope, current.gapMs, current.forecast),
        buildLayout(current, width.current, yRange.current),
        CONFIG,
      ).then(() => {
        if (listening.current) return;
        listening.current = true;
        (element as unknown as Plotly.PlotlyHTMLElement).on('plotly_relayout', (event) => {
          const zoom = zoomOf(event);
          if (zoom === undefined) return;
          // Plotly moved the axis itself: the next draw sets the range the caller decides on.
          drawnX.current = null;
          latest.current.onZoom?.(zoom);
        });
      });
    };
    draw.current = () => {
      const started = performance.now();
      const drawing = plot();
      if (drawing === undefined) return undefined;
      recordChartDraw(started);
      if (drawing === IN_PLACE) {
        // On screen with this frame.
        recordChartUpdate(started);
        return undefined;
      }
      return drawing.then(() => recordChartUpdate(started));
    };
    // Hovering reads Plotly's copy of the data: bring it up to date first, and keep it so
    // while the pointer is on the chart.
    const enter = () => {
      pointerIn.current = true;
      if (modelBehind.current) uiQueue.enqueue(key, draw.current);
    };
    const leave = () => {
      pointerIn.current = false;
    };
    element.addEventListener('pointerenter', enter);
    element.addEventListener('pointerleave', leave);
    /** The whole figure again (new width, back in view). */
    const redraw = () => {
      drawnKey.current = null;
      uiQueue.enqueue(key, draw.current);
    };
    const resize =
      typeof ResizeObserver === 'function'
        ? new ResizeObserver(([entry]) => {
            const next = Math.floor(entry?.contentRect.width ?? 0);
            if (next > 0 && next !== width.current) {
              width.current = next;
              redraw();
            }
          })
        : null;
    resize?.observe(element);
    if (!resize) {
      width.current = element.clientWidth || 600;
      redraw();
    }
    const observer =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver(([entry]) => {
            const wasVisible = visible.current;
            visible.current = entry?.isIntersecting ?? true;
            // Catch up on what was skipped while scrolled away.
            if (visible.current && !wasVisible) redraw();
          })
        : null;
    observer?.observe(element);
    return () => {
      element.removeEventListener('pointerenter', enter);
      element.removeEventListener('pointerleave', leave);
      resize?.disconnect();
      observer?.disconnect();
      uiQueue.cancel(key);
      Plotly.purge(element);
      listening.current = false;
      drawnKey.current = null;
    };
  }, [key]);

  // Every render with new props draws them (after the effect above has set up `draw`).
  useEffect(() => {
    latest.current = props;
    uiQueue.enqueue(key, draw.current);
  });

  const { label, unit } = sensorInfo(props.sensor);
  return (
    <div className="sensor-plot">
      <div className="sensor-plot__title">
        <strong>{label}</strong>
        {unit ? <span className="muted"> ({unit})</span> : null}
      </div>
      <div ref={ref} style={{ height: PLOT_HEIGHT }} />
    </div>
  );
});

function sharedRange(series: ReadonlyMap<string, SeriesSnapshot>): TimeRange | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const points of series.values()) {
    const first = points.x[0];
    const last = points.x.at(-1);
    if (first !== undefined && first < lo) lo = first;
    if (last !== undefined && last > hi) hi = last;
  }
  return Number.isFinite(lo) && Number.isFinite(hi) && hi > lo ? [lo, hi] : null;
}

const NO_MARKS: readonly DrawnMark[] = [];

export default function SensorChart(props: SensorChartProps) {
  const { machineId, sensors, series, bands, episodes, alarms, paused, onZoom, envelopes } = props;
  const { forecasts } = props;
  const gapMs = props.gapMs ?? GAP_MS;
  // Memoised: a new array would redraw every chart on renders that brought no new data.
  const dataRange = useMemo(() => sharedRange(series), [series]);
  const forecastsDrawn = useMemo(() => {
    const out = new Map<string, DrawnForecast>();
    for (const [sensor, forecast] of forecasts ?? []) {
      if (forecast.items.length > 0) out.set(sensor, drawnForecast(forecast));
    }
    return out;
  }, [forecasts]);
  // The time axis reaches the last forecast point of any chart (they share it to line up).
  const end = useMemo(() => {
    const ends = [...forecastsDrawn.values()].flatMap((f) => (f.end === null ? [] : [f.end]));
    return ends.length > 0 ? Math.max(...ends) : null;
  }, [forecastsDrawn]);
  const shown = props.range ?? dataRange;
  const range = useMemo(() => (end === null ? shown : extendRange(shown, end)), [shown, end]);
  const marks = useMemo(() => {
    const drawn = new Map<string, DrawnMark[]>();
    for (const [sensor, list] of alarms ?? []) drawn.set(sensor, marksInRange(list, range));
    return drawn;
  }, [alarms, range]);

  return (
    <div className="sensor-plots">
      {sensors.map((sensor) => (
        <SensorPlot
          key={sensor}
          machineId={machineId}
          sensor={sensor}
          points={series.get(sensor) ?? { x: [], y: [] }}
          band={bands?.get(sensor)}
          episodes={episodes}
          marks={marks.get(sensor) ?? NO_MARKS}
          range={range}
          paused={paused}
          onZoom={onZoom}
          envelope={envelopes?.get(sensor)}
          gapMs={gapMs}
          forecast={forecastsDrawn.get(sensor)}
        />
      ))}
    </div>
  );
}
