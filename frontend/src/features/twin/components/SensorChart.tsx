// Plotly small multiples: one stacked subplot per sensor on a shared time axis, with the typical
// range shaded, anomaly episodes marked and (for bucketed history) the min/max envelope.
// Loaded lazily: Plotly is most of the bundle.
import { useMemo } from 'react';
import createPlotlyComponent from 'react-plotly.js/factory';
import Plotly from 'plotly.js-basic-dist-min';
import type { Annotations, Config, Data, Layout, Shape } from 'plotly.js';
import type { SeriesSnapshot } from '../../../lib/ringBuffer';
import { sensorInfo } from '../../../lib/format';
import { withGaps, type Band, type Episode } from '../chartData';
import { measureChartUpdate } from '../chartTiming';

const Plot = createPlotlyComponent(Plotly);

const ROW_HEIGHT = 120;
const GRID = 'rgba(148, 163, 184, 0.16)';
const LINE = '#60a5fa';
const ENVELOPE = 'rgba(96, 165, 250, 0.22)';
const BAND = 'rgba(74, 222, 128, 0.10)';
const ANOMALY = 'rgba(248, 113, 113, 0.20)';
const CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ['lasso2d', 'select2d'],
};

/** Min/max per bucket, drawn as a shaded envelope around the average line. */
export interface Envelope {
  x: number[];
  min: number[];
  max: number[];
}

export interface SensorChartProps {
  machineId: string;
  sensors: readonly string[];
  /** Points per sensor; a new Map identity means new data (rebuilt once per frame at most). */
  series: ReadonlyMap<string, SeriesSnapshot>;
  envelopes?: ReadonlyMap<string, Envelope>;
  bands?: ReadonlyMap<string, Band>;
  episodes?: readonly Episode[];
  revision: number;
  /** Greys the plot area while the data is not live. */
  paused: boolean;
}

function axisName(kind: 'x' | 'y', index: number): string {
  return index === 0 ? kind : `${kind}${index + 1}`;
}

function buildData(
  sensors: readonly string[],
  series: SensorChartProps['series'],
  envelopes: SensorChartProps['envelopes'],
): Data[] {
  const data: Data[] = [];
  sensors.forEach((sensor, index) => {
    const yaxis = axisName('y', index);
    const envelope = envelopes?.get(sensor);
    if (envelope) {
      data.push(
        {
          type: 'scatter',
          mode: 'lines',
          x: envelope.x,
          y: envelope.min,
          xaxis: 'x',
          yaxis,
          line: { width: 0 },
          hoverinfo: 'skip',
          showlegend: false,
        },
        {
          type: 'scatter',
          mode: 'lines',
          x: envelope.x,
          y: envelope.max,
          xaxis: 'x',
          yaxis,
          line: { width: 0 },
          fill: 'tonexty',
          fillcolor: ENVELOPE,
          hoverinfo: 'skip',
          showlegend: false,
        },
      );
    }
    const points = withGaps(series.get(sensor) ?? { x: [], y: [] });
    const { label, unit } = sensorInfo(sensor);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: sensor,
      // Epoch milliseconds are valid values on a date axis.
      x: points.x,
      y: points.y,
      xaxis: 'x',
      yaxis,
      line: { width: 1.5, color: LINE },
      connectgaps: false,
      hovertemplate: `%{y:.3~f} ${unit}<extra>${label}</extra>`,
    });
  });
  return data;
}

function buildLayout(
  props: Pick<
    SensorChartProps,
    'sensors' | 'machineId' | 'revision' | 'paused' | 'bands' | 'episodes'
  >,
): Partial<Layout> {
  const { sensors, machineId, revision, paused, bands, episodes } = props;
  const rows = Math.max(1, sensors.length);
  const annotations: Array<Partial<Annotations>> = sensors.map((sensor, index) => {
    const { label, unit } = sensorInfo(sensor);
    return {
      text: unit ? `<b>${label}</b> (${unit})` : `<b>${label}</b>`,
      xref: 'paper',
      yref: `${axisName('y', index)} domain` as Annotations['yref'],
      x: 0,
      y: 1,
      xanchor: 'left',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 11 },
    };
  });
  const shapes: Array<Partial<Shape>> = [];
  sensors.forEach((sensor, index) => {
    const band = bands?.get(sensor);
    if (!band) return;
    shapes.push({
      type: 'rect',
      xref: 'paper',
      yref: axisName('y', index) as Shape['yref'],
      x0: 0,
      x1: 1,
      y0: band.lo,
      y1: band.hi,
      fillcolor: BAND,
      line: { width: 0 },
      layer: 'below',
    });
  });
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
  const layout: Partial<Layout> & Record<string, unknown> = {
    height: 40 + rows * ROW_HEIGHT,
    margin: { l: 56, r: 12, t: 22, b: 30 },
    grid: { rows, columns: 1, pattern: 'coupled', roworder: 'top to bottom', ygap: 0.35 },
    showlegend: false,
    hovermode: 'x',
    annotations,
    shapes,
    // A new datarevision redraws the traces; uirevision keeps zoom/pan until the machine changes.
    datarevision: revision,
    uirevision: machineId,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: paused ? 'rgba(148, 163, 184, 0.10)' : 'rgba(0,0,0,0)',
    font: { family: 'system-ui, sans-serif', size: 11, color: '#cbd5e1' },
    xaxis: { type: 'date', gridcolor: GRID, linecolor: GRID },
  };
  for (let index = 0; index < rows; index += 1) {
    layout[`yaxis${index === 0 ? '' : index + 1}`] = {
      gridcolor: GRID,
      zeroline: false,
      automargin: true,
      nticks: 4,
    };
  }
  return layout;
}

export default function SensorChart(props: SensorChartProps) {
  const { machineId, sensors, series, envelopes, bands, episodes, revision, paused } = props;
  // Plotly only does work when these identities change: once per frame with new data at most.
  const data = useMemo(() => buildData(sensors, series, envelopes), [sensors, series, envelopes]);
  const layout = useMemo(
    () => buildLayout({ sensors, machineId, revision, paused, bands, episodes }),
    [sensors, machineId, revision, paused, bands, episodes],
  );
  return (
    <Plot
      data={data}
      layout={layout}
      config={CONFIG}
      useResizeHandler
      style={{ width: '100%' }}
      onInitialized={measureChartUpdate}
      onUpdate={measureChartUpdate}
    />
  );
}
