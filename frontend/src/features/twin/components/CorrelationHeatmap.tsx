// The sensor correlation matrix as a heatmap table (a cell per sensor pair, coloured from -1 red
// to +1 blue, value in the cell), with correlation breaks outlined. A table rather than a Plotly
// heatmap: readable by screen readers, and plotly.js-basic has no heatmap trace.
import type { Correlations } from '../../../api/types';
import { sensorInfo } from '../../../lib/format';
import { readBreaks } from '../correlationBreaks';

export function cellColour(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'transparent';
  const strength = Math.min(1, Math.abs(value));
  return value >= 0
    ? `rgba(96, 165, 250, ${(0.08 + 0.72 * strength).toFixed(2)})`
    : `rgba(248, 113, 113, ${(0.08 + 0.72 * strength).toFixed(2)})`;
}

export function CorrelationHeatmap({ data }: { data: Correlations }) {
  const breaks = readBreaks(data.breaks);
  const broken = new Set(
    breaks.flatMap((b) => [`${b.sensor_a}|${b.sensor_b}`, `${b.sensor_b}|${b.sensor_a}`]),
  );
  const labels = data.sensors.map((s) => sensorInfo(s).label);
  return (
    <div className="heatmap-scroll">
      <table className="heatmap" aria-label="Correlation heatmap">
        <thead>
          <tr>
            <td />
            {labels.map((label, j) => (
              <th key={data.sensors[j]} scope="col" title={data.sensors[j]}>
                <span className="heatmap__col">{label}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.sensors.map((row, i) => (
            <tr key={row}>
              <th scope="row" title={row}>
                {labels[i]}
              </th>
              {data.sensors.map((column, j) => {
                const value = data.matrix?.[i]?.[j] ?? null;
                const isBreak = broken.has(`${row}|${column}`);
                return (
                  <td
                    key={column}
                    className={isBreak ? 'heatmap__cell heatmap__cell--break' : 'heatmap__cell'}
                    style={{ background: cellColour(value) }}
                    title={`${labels[i]} × ${labels[j]}: ${value === null ? 'n/a' : value.toFixed(2)}${isBreak ? ' (break)' : ''}`}
                  >
                    {value === null ? '·' : value.toFixed(2)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
