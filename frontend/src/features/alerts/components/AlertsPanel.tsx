// Live anomaly events across the fleet; a click opens the machine.
import type { AnomalyEvent } from '../../../api/types';
import { formatClock, sensorInfo } from '../../../lib/format';
import { scoreBand } from '../../../lib/status';
import { parseTime } from '../../../lib/time';
import { openMachines } from '../alertsStore';
import type { LiveAlerts } from '../hooks/useAlerts';

interface AlertsPanelProps {
  alerts: LiveAlerts;
  selectedId: string | null;
  onSelect: (id: string) => void;
}

function topSensor(event: AnomalyEvent): string | null {
  const first = event.explanation[0];
  return first && typeof first.sensor === 'string' ? sensorInfo(first.sensor).label : null;
}

export function AlertsPanel({ alerts, selectedId, onSelect }: AlertsPanelProps) {
  const open = openMachines(alerts.events);
  return (
    <section className="panel alerts" aria-labelledby="alerts-heading">
      <div className="panel__header">
        <h2 id="alerts-heading">Anomalies</h2>
        <span className="muted">
          {open.size} machine{open.size === 1 ? '' : 's'} with an open anomaly
        </span>
      </div>
      {!alerts.loaded ? <p className="muted">Loading anomalies…</p> : null}
      {alerts.loaded && alerts.events.length === 0 ? (
        <p className="muted">No anomaly events yet. New ones appear here as they happen.</p>
      ) : null}
      <ul className="alert-list" aria-label="Anomaly events">
        {alerts.events.map((event) => {
          const sensor = topSensor(event);
          return (
            <li
              key={event.id}
              className={`alert alert--${event.kind} ${event.machine_id === selectedId ? 'alert--selected' : ''}`}
            >
              <button
                type="button"
                className="alert__button"
                onClick={() => onSelect(event.machine_id)}
                aria-label={`${event.machine_id}: anomaly ${event.kind}, score ${event.score.toFixed(2)}`}
              >
                <span className={`chip chip--${event.kind}`}>{event.kind}</span>
                <span className="alert__machine">{event.machine_id}</span>
                <span className={`score score--${scoreBand(event.score)}`}>
                  {event.score.toFixed(2)}
                </span>
                <span className="alert__detail muted">
                  {sensor ? `${sensor} · ` : ''}
                  {event.detector}
                </span>
                <time className="alert__time muted">{formatClock(parseTime(event.ts))}</time>
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
