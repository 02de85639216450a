// Plotly small multiples: one stacked subplot per sensor on a shared time axis, so sensors with
// very different scales stay readable. Loaded lazily (Plotly is most of the bundle).
import { useMemo } from 'react';
import createPlotlyComponent from 'react-plotly.js/factory';
import Plotly from 'plotly.js-basic-dist-min';
import type { Annotations, Config, Data, Layout } from 'plotly.js';
import type { SeriesSnapshot } from '../../../lib/ringBuffer';
import { sensorInfo } from '../../../lib/format';
import { withGaps } from '../chartData';

const Plot = createPlotlyComponent(Plotly);

const ROW_HEIGHT = 130;
const GRID = '#e5e7eb';
const CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ['lasso2d', 'select2d'],
};

export interface SensorChartProps {
  machineId: string;
  sensors: readonly string[];
  /** Points per sensor; a new Map identity means new data (it is rebuilt once per frame at most). */
  series: ReadonlyMap<string, SeriesSnapshot>;
  revision: number;
  /** Greys the plot area while the stream is not live. */
  paused: boolean;
}

function axisName(kind: 'x' | 'y', index: number): string {
  return index === 0 ? kind : `${kind}${index + 1}`;
}

function buildData(sensors: readonly string[], series: SensorChartProps['series']): Data[] {
  return sensors.map((sensor, index) => {
    const points = withGaps(series.get(sensor) ?? { x: [], y: [] });
    const { label, unit } = sensorInfo(sensor);
    const trace: Data = {
      type: 'scatter',
      mode: 'lines',
      name: sensor,
      // Epoch milliseconds are valid values on a date axis.
      x: points.x,
      y: points.y,
      xaxis: 'x',
      yaxis: axisName('y', index),
      line: { width: 1.5 },
      connectgaps: false,
      hovertemplate: `%{y:.3~f} ${unit}<extra>${label}</extra>`,
    };
    return trace;
  });
}

function buildLayout(
  sensors: readonly string[],
  machineId: string,
  revision: number,
  paused: boolean,
): Partial<Layout> {
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
      font: { size: 12 },
    };
  });
  const layout: Partial<Layout> & Record<string, unknown> = {
    height: 40 + rows * ROW_HEIGHT,
    margin: { l: 56, r: 16, t: 24, b: 32 },
    grid: { rows, columns: 1, pattern: 'coupled', roworder: 'top to bottom', ygap: 0.35 },
    showlegend: false,
    hovermode: 'x',
    annotations,
    // A new datarevision redraws the traces; uirevision keeps zoom/pan until the machine changes.
    datarevision: revision,
    uirevision: machineId,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: paused ? '#f3f4f6' : '#ffffff',
    font: { family: 'system-ui, sans-serif', size: 11, color: '#374151' },
    xaxis: { type: 'date', gridcolor: GRID },
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

export default function SensorChart({
  machineId,
  sensors,
  series,
  revision,
  paused,
}: SensorChartProps) {
  // Plotly only does work when these identities change: once per frame with new data at most.
  const data = useMemo(() => buildData(sensors, series), [sensors, series]);
  const layout = useMemo(
    () => buildLayout(sensors, machineId, revision, paused),
    [sensors, machineId, revision, paused],
  );
  return (
    <Plot data={data} layout={layout} config={CONFIG} useResizeHandler style={{ width: '100%' }} />
  );
}
