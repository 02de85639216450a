// What a draft rule would have done over stored history: how many alarms, on which machines, the
// episodes (raised, cleared, value) and how many of its alarms chatter.
import { formatAge, formatDateTime, formatValue } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import type { RulePreview } from '../types';

const EPISODES_SHOWN = 50;

export function RulePreviewView({ preview, days }: { preview: RulePreview; days: number }) {
  const episodes = [...preview.episodes].sort(
    (a, b) => parseTime(b.raised_at) - parseTime(a.raised_at),
  );
  const machines = [...preview.per_machine].sort((a, b) => b.alarms - a.alarms);
  return (
    <section className="rule-preview" aria-label="Rule preview">
      <h3>
        Preview over the last {days} day{days === 1 ? '' : 's'}
      </h3>
      <dl className="tiles">
        <div className="tile">
          <dt>Would-be alarms</dt>
          <dd>{preview.alarms.toLocaleString('en-US')}</dd>
        </div>
        <div className={`tile${preview.chattering > 0 ? ' tile--warn' : ''}`}>
          <dt>Chattering</dt>
          <dd>{preview.chattering.toLocaleString('en-US')}</dd>
        </div>
        <div className="tile">
          <dt>Machines</dt>
          <dd>{preview.machines.toLocaleString('en-US')}</dd>
        </div>
        <div className="tile">
          <dt>Readings replayed</dt>
          <dd>{preview.readings.toLocaleString('en-US')}</dd>
        </div>
      </dl>
      {preview.chattering > 0 ? (
        <p className="notice notice--warn" role="note">
          {preview.chattering} of these alarms chatter (3 or more activations within 60 s): a larger
          deadband or an on/off delay would calm them.
        </p>
      ) : null}
      {preview.alarms === 0 ? (
        <p className="muted">This rule would have raised no alarm in this period.</p>
      ) : null}
      <div className="rule-preview__tables">
        {machines.length > 0 ? (
          <table className="mini-table" aria-label="Would-be alarms per machine">
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col" className="num">
                  Alarms
                </th>
              </tr>
            </thead>
            <tbody>
              {machines.map((m) => (
                <tr key={m.machine_id}>
                  <th scope="row">{m.machine_id}</th>
                  <td className="num">{m.alarms}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {episodes.length > 0 ? (
          <table className="mini-table" aria-label="Would-be episodes">
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">Raised (UTC)</th>
                <th scope="col">Cleared (UTC)</th>
                <th scope="col" className="num">
                  Lasted
                </th>
                <th scope="col" className="num">
                  Value
                </th>
              </tr>
            </thead>
            <tbody>
              {episodes.slice(0, EPISODES_SHOWN).map((e) => {
                const raised = parseTime(e.raised_at);
                const cleared = e.cleared_at ? parseTime(e.cleared_at) : null;
                return (
                  <tr key={`${e.machine_id}-${e.raised_at}`}>
                    <th scope="row">{e.machine_id}</th>
                    <td className="nowrap">{formatDateTime(raised)}</td>
                    <td className="nowrap">
                      {cleared === null ? 'still active' : formatDateTime(cleared)}
                    </td>
                    <td className="num nowrap">
                      {cleared === null ? '—' : formatAge(cleared - raised)}
                    </td>
                    <td className="num">{formatValue(e.value)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </div>
      {episodes.length > EPISODES_SHOWN ? (
        <p className="muted">
          …and {episodes.length - EPISODES_SHOWN} earlier episodes
          {preview.alarms > episodes.length ? ` (${preview.alarms} in all)` : ''}.
        </p>
      ) : null}
    </section>
  );
}
