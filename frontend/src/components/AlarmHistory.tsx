// One alarm's history (every transition: when, what, the state after it, who, the comment), fetched
// when shown; a newer transition of the alarm (a higher seq) fetches it again.
import { useQuery } from '@tanstack/react-query';
import { alarmDetailQuery } from '../api/alarms';
import { STATE_LABELS } from '../lib/alarms';
import { formatDateTime } from '../lib/format';
import { parseTime } from '../lib/time';
import { ErrorNotice } from './ErrorNotice';

/** `user:admin` → `admin`; `system` stays. */
function who(actor: string): string {
  const colon = actor.indexOf(':');
  return colon >= 0 ? actor.slice(colon + 1) : actor;
}

export function AlarmHistory({ alarmId, seq }: { alarmId: number; seq: number }) {
  const detail = useQuery(alarmDetailQuery(alarmId, seq));
  if (detail.isError) {
    return <ErrorNotice error={detail.error} context="Could not load the alarm's history" />;
  }
  if (!detail.data) return <p className="muted">Loading history…</p>;
  const events = [...detail.data.history].sort((a, b) => a.seq - b.seq);
  return (
    <ol className="alarm-history" aria-label={`History of alarm ${alarmId}`}>
      {events.map((event) => (
        <li key={event.seq} className="alarm-history__item">
          <time className="muted nowrap">{formatDateTime(parseTime(event.ts))}</time>
          <strong>{event.kind.replaceAll('_', ' ')}</strong>
          <span className="muted">→ {STATE_LABELS[event.state] ?? event.state}</span>
          <span>by {who(event.actor)}</span>
          {event.comment ? <q className="alarm-history__comment">{event.comment}</q> : null}
        </li>
      ))}
    </ol>
  );
}
