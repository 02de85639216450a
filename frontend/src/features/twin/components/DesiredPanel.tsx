// Reported vs desired settings with the delta highlighted, the device's answer to the newest
// desired version, and the editor for a JSON merge patch guarded by If-Match.
import type { Twin } from '../../../api/types';
import { formatAny, sensorInfo } from '../../../lib/format';
import { DesiredEditor } from './DesiredEditor';

const COMMAND_TEXT: Record<string, string> = {
  pending: 'pending: waiting for the device',
  undelivered: 'undelivered: could not be handed to the device',
  awaiting_placement: 'waiting for the machine to report its site and line, then sent',
  accepted: 'accepted by the device',
  partial: 'partially applied',
  rejected: 'rejected by the device',
};

export function DesiredPanel({ twin }: { twin: Twin }) {
  const keys = [...new Set([...Object.keys(twin.desired), ...Object.keys(twin.reported)])].sort();
  const command = twin.command;
  const converged =
    command !== null &&
    command !== undefined &&
    command.status === 'accepted' &&
    Object.keys(twin.delta).length === 0;
  return (
    <section className="card card--wide" aria-label="Desired state">
      <h3>Desired state</h3>
      <div className="desired__status" role="status" aria-label="Command status">
        {command ? (
          <>
            <span className={`chip chip--${command.status}`}>{command.status}</span>{' '}
            <span>
              version {command.version}: {COMMAND_TEXT[command.status] ?? command.status}
            </span>
            {converged ? <span className="chip chip--converged">converged</span> : null}
          </>
        ) : (
          <span className="muted">
            No command sent yet (desired version {twin.desired_version}).
          </span>
        )}
      </div>
      {command && Object.keys(command.rejected).length > 0 ? (
        <ul className="rejections" aria-label="Rejected settings">
          {Object.entries(command.rejected).map(([name, reason]) => (
            <li key={name}>
              <strong>{name}</strong>: {reason}
            </li>
          ))}
        </ul>
      ) : null}
      <table className="mini-table" aria-label="Reported vs desired">
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Desired</th>
            <th scope="col">Reported</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => {
            const inDelta = key in twin.delta;
            const reported = key in twin.reported ? twin.reported[key] : twin.readings[key];
            return (
              <tr key={key} className={inDelta ? 'row--delta' : undefined}>
                <th scope="row" title={key}>
                  {sensorInfo(key).label}
                </th>
                <td className="num">{key in twin.desired ? formatAny(twin.desired[key]) : '—'}</td>
                <td className="num">{formatAny(reported)}</td>
                <td>{inDelta ? <span className="delta-tag">delta</span> : 'in sync'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <DesiredEditor twin={twin} />
    </section>
  );
}
