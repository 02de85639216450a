// The machine's alarms, newest first: priority, condition, message, when raised and cleared, state;
// each expands to its whole history (who acknowledged, shelved or commented, and when).
import { useState } from 'react';
import type { AlarmList } from '../../../api/types';
import { AlarmHistory } from '../../../components/AlarmHistory';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { PriorityChip } from '../../../components/PriorityChip';
import { isUnacknowledged, STATE_LABELS } from '../../../lib/alarms';
import { formatDateTime } from '../../../lib/format';
import { parseTime } from '../../../lib/time';

/** The clearing time, without the date when it is the raising's. */
function clearedText(raisedAt: string, cleared: number): string {
  const text = formatDateTime(cleared);
  return text.slice(0, 10) === formatDateTime(parseTime(raisedAt)).slice(0, 10)
    ? text.slice(11)
    : text;
}

interface AlarmHistoryPanelProps {
  machineId: string;
  alarms: AlarmList | undefined;
  error: unknown;
}

export function AlarmHistoryPanel({ machineId, alarms, error }: AlarmHistoryPanelProps) {
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(new Set());
  const items = alarms?.items ?? [];
  const open = items.filter((a) => a.state !== 'normal').length;
  return (
    <section className="card alarm-panel" aria-labelledby={`alarm-panel-${machineId}`}>
      <h3 id={`alarm-panel-${machineId}`}>
        Alarm history{' '}
        <span className="muted">
          ({open} open of {items.length}
          {alarms?.next_cursor ? '+' : ''})
        </span>
      </h3>
      {error ? <ErrorNotice error={error} context="Could not load alarms" /> : null}
      {!alarms && !error ? <p className="muted">Loading alarms…</p> : null}
      {alarms && items.length === 0 ? <p className="muted">No alarms for this machine.</p> : null}
      <ul className="machine-alarms" aria-label={`Alarms of ${machineId}`}>
        {items.map((alarm) => {
          const shown = expanded.has(alarm.id);
          const cleared = alarm.cleared_at ? parseTime(alarm.cleared_at) : null;
          return (
            <li
              key={alarm.id}
              className={`machine-alarm${isUnacknowledged(alarm.state) ? ' machine-alarm--unack' : ''}`}
            >
              <button
                type="button"
                className="machine-alarm__head"
                aria-expanded={shown}
                onClick={() =>
                  setExpanded((current) => {
                    const next = new Set(current);
                    if (next.has(alarm.id)) next.delete(alarm.id);
                    else next.add(alarm.id);
                    return next;
                  })
                }
              >
                <PriorityChip priority={alarm.priority} />
                <span className="nowrap">{alarm.condition}</span>
                <span className="machine-alarm__message">{alarm.message}</span>
                <span className={`alarm-state alarm-state--${alarm.state}`}>
                  {STATE_LABELS[alarm.state] ?? alarm.state}
                </span>
                <time className="muted nowrap">
                  {formatDateTime(parseTime(alarm.raised_at))}
                  {cleared !== null ? ` → ${clearedText(alarm.raised_at, cleared)}` : ''}
                </time>
              </button>
              {shown ? <AlarmHistory alarmId={alarm.id} seq={alarm.seq} /> : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
