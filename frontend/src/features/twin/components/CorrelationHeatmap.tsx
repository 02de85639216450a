// Plotly heatmap of the machine's sensor correlation matrix with correlation breaks outlined.
// Loaded lazily with Plotly.
import { useMemo } from 'react';
import createPlotlyComponent from 'react-plotly.js/factory';
import Plotly from 'plotly.js-basic-dist-min';
import type { Config, Data, Layout, Shape } from 'plotly.js';
import type { Correlations } from '../../../api/types';
import { sensorInfo } from '../../../lib/format';
import { readBreaks } from '../correlationBreaks';

const Plot = createPlotlyComponent(Plotly);
const CONFIG: Partial<Config> = { displaylogo: false, responsive: true };

export default function CorrelationHeatmap({ data }: { data: Correlations }) {
  const labels = useMemo(() => data.sensors.map((s) => sensorInfo(s).label), [data.sensors]);
  const breaks = useMemo(() => readBreaks(data.breaks), [data.breaks]);
  const traces = useMemo<Data[]>(
    () => [
      {
        type: 'heatmap',
        z: data.matrix ?? [],
        x: labels,
        y: labels,
        zmin: -1,
        zmax: 1,
        colorscale: 'RdBu',
        reversescale: true,
        hovertemplate: '%{y} × %{x}: %{z:.2f}<extra></extra>',
        colorbar: { thickness: 10, tickfont: { color: '#cbd5e1' } },
      },
    ],
    [data.matrix, labels],
  );
  const layout = useMemo<Partial<Layout>>(() => {
    const index = new Map(data.sensors.map((s, i) => [s, i]));
    const shapes: Array<Partial<Shape>> = [];
    for (const b of breaks) {
      const i = index.get(b.sensor_a);
      const j = index.get(b.sensor_b);
      if (i === undefined || j === undefined) continue;
      for (const [x, y] of [
        [i, j],
        [j, i],
      ] as const) {
        shapes.push({
          type: 'rect',
          xref: 'x',
          yref: 'y',
          x0: x - 0.5,
          x1: x + 0.5,
          y0: y - 0.5,
          y1: y + 0.5,
          line: { color: '#facc15', width: 3 },
        });
      }
    }
    return {
      height: 120 + data.sensors.length * 34,
      margin: { l: 150, r: 20, t: 10, b: 130 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { family: 'system-ui, sans-serif', size: 11, color: '#cbd5e1' },
      xaxis: { tickangle: -40 },
      yaxis: { autorange: 'reversed' },
      shapes,
    };
  }, [breaks, data.sensors]);
  return (
    <Plot
      data={traces}
      layout={layout}
      config={CONFIG}
      useResizeHandler
      style={{ width: '100%' }}
    />
  );
}
