// The Correlations view: heatmap of the recent sensor correlations and the list of breaks.
import { ErrorNotice } from '../../../components/ErrorNotice';
import { sensorInfo } from '../../../lib/format';
import { useCorrelations } from '../api';
import { readBreaks } from '../correlationBreaks';
import { CorrelationHeatmap } from './CorrelationHeatmap';

export function CorrelationsTab({ machineId }: { machineId: string }) {
  const correlations = useCorrelations(machineId);
  if (correlations.isError) {
    return <ErrorNotice error={correlations.error} context="Could not load correlations" />;
  }
  const data = correlations.data;
  if (!data) return <p className="muted">Loading correlations…</p>;
  if (!data.matrix) {
    return (
      <p className="muted">
        The correlation window has not filled yet (about 100 readings); it appears here soon.
      </p>
    );
  }
  const breaks = readBreaks(data.breaks);
  return (
    <section aria-label="Correlations" className="correlations">
      <CorrelationHeatmap data={data} />
      <p className="chart__legend muted">
        <span className="legend legend--neg" /> −1 <span className="legend legend--pos" /> +1
        <span className="legend legend--break" /> correlation break (recent window vs baseline)
      </p>
      <h3>Correlation breaks</h3>
      {breaks.length === 0 ? (
        <p className="muted">None: sensors that usually move together still do.</p>
      ) : (
        <ul className="breaks" aria-label="Correlation breaks">
          {breaks.map((b) => (
            <li key={`${b.sensor_a}|${b.sensor_b}`}>
              <strong>
                {sensorInfo(b.sensor_a).label} × {sensorInfo(b.sensor_b).label}
              </strong>
              : usually {b.baseline?.toFixed(2) ?? '—'}, recently {b.recent?.toFixed(2) ?? '—'}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
