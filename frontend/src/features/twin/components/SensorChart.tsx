// Live small multiples: one Plotly chart per sensor, with the typical range shaded and anomaly
// episodes marked. Plotly is driven directly
// (no React reconciliation of figures); redraws go through a frame queue with a time budget so a
// machine with many sensors never makes one long frame, and charts scrolled out of view wait
// until they are visible. Loaded lazily: Plotly is most of the bundle.
import { memo, useEffect, useRef } from 'react';
import Plotly from 'plotly.js-basic-dist-min';
import type { Config, Data, Layout, Shape } from 'plotly.js';
import type { SeriesSnapshot } from '../../../lib/ringBuffer';
import { sensorInfo } from '../../../lib/format';
import { createFrameQueue } from '../../../lib/frameQueue';
import { withGaps, type Band, type Episode } from '../chartData';
import { recordChartUpdate } from '../chartTiming';

const PLOT_HEIGHT = 116;
const GRID = 'rgba(148, 163, 184, 0.16)';
const LINE = '#60a5fa';
const BAND = 'rgba(74, 222, 128, 0.10)';
const ANOMALY = 'rgba(248, 113, 113, 0.22)';
const CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: true,
  displayModeBar: false,
};

/** One queue for every chart on the page: one redraw per animation frame (a redraw is ~10 ms). */
const queue = createFrameQueue(0);

export interface SensorChartProps {
  machineId: string;
  sensors: readonly string[];
  /** Points per sensor; a new Map identity means new data (rebuilt once per frame at most). */
  series: ReadonlyMap<string, SeriesSnapshot>;
  bands?: ReadonlyMap<string, Band>;
  episodes?: readonly Episode[];
  revision: number;
  /** Greys the plot area while the data is not live. */
  paused: boolean;
}

interface PlotProps {
  machineId: string;
  sensor: string;
  points: SeriesSnapshot;
  band: Band | undefined;
  episodes: readonly Episode[] | undefined;
  /** Shared x range so the small multiples line up. */
  range: [number, number] | null;
  paused: boolean;
}

function buildData({ sensor, points }: PlotProps): Data[] {
  const data: Data[] = [];
  const line = withGaps(points);
  const { label, unit } = sensorInfo(sensor);
  data.push({
    type: 'scatter',
    mode: 'lines',
    name: sensor,
    // Epoch milliseconds are valid values on a date axis.
    x: line.x,
    y: line.y,
    line: { width: 1.5, color: LINE },
    connectgaps: false,
    hovertemplate: `%{y:.3~f} ${unit}<extra>${label}</extra>`,
  });
  return data;
}

function tickFormat(range: [number, number] | null): string {
  const span = range ? range[1] - range[0] : 0;
  if (span > 86_400_000) return '%b %d';
  return span > 15 * 60_000 ? '%H:%M' : '%H:%M:%S';
}

function buildLayout({ machineId, band, episodes, range, paused }: PlotProps): Partial<Layout> {
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
  return {
    height: PLOT_HEIGHT,
    // Fixed margins: automargin would cost a second layout pass on every redraw.
    margin: { l: 52, r: 10, t: 6, b: 22 },
    showlegend: false,
    hovermode: 'x',
    shapes,
    // uirevision keeps a zoom until the machine changes.
    uirevision: machineId,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: paused ? 'rgba(148, 163, 184, 0.10)' : 'rgba(0,0,0,0)',
    font: { family: 'system-ui, sans-serif', size: 10, color: '#cbd5e1' },
    xaxis: {
      type: 'date',
      gridcolor: GRID,
      linecolor: GRID,
      // One line of tick labels (Plotly's default adds the date on a second line).
      tickformat: tickFormat(range),
      ...(range ? { range } : { autorange: true }),
    },
    yaxis: { gridcolor: GRID, zeroline: false, nticks: 4 },
  };
}

const SensorPlot = memo(function SensorPlot(props: PlotProps) {
  const ref = useRef<HTMLDivElement>(null);
  const visible = useRef(true);
  const drawn = useRef(false);
  const latest = useRef(props);
  const key = `${props.machineId}/${props.sensor}`;

  useEffect(() => {
    latest.current = props;
    const element = ref.current;
    if (!element) return;
    const draw = () => {
      if (!visible.current && drawn.current) return;
      const started = performance.now();
      const current = latest.current;
      void Plotly.react(element, buildData(current), buildLayout(current), CONFIG).then(() =>
        recordChartUpdate(started),
      );
      drawn.current = true;
    };
    queue.enqueue(key, draw);
  });

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver(([entry]) => {
            const wasVisible = visible.current;
            visible.current = entry?.isIntersecting ?? true;
            // Catch up on what was skipped while scrolled away.
            if (visible.current && !wasVisible) {
              queue.enqueue(key, () => {
                const current = latest.current;
                void Plotly.react(element, buildData(current), buildLayout(current), CONFIG);
              });
            }
          })
        : null;
    observer?.observe(element);
    return () => {
      observer?.disconnect();
      queue.cancel(key);
      Plotly.purge(element);
    };
  }, [key]);

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

function sharedRange(series: ReadonlyMap<string, SeriesSnapshot>): [number, number] | null {
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

export default function SensorChart(props: SensorChartProps) {
  const { machineId, sensors, series, bands, episodes, paused } = props;
  const range = sharedRange(series);
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
          range={range}
          paused={paused}
        />
      ))}
    </div>
  );
}
