// Alarm-management figures (ISA-18.2): alarms per 10 minutes per site against the flood threshold,
// the share of time in flood, the ten most frequent alarms and the chattering ones.
import { lazy, Suspense, useState } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { useDebounced } from '../../../hooks/useDebounced';
import { formatDateTime } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import { useAlarmReports } from '../api';

const FloodChart = lazy(() => import('./FloodChart'));

const PERIODS: ReadonlyArray<readonly [number, string]> = [
  [1, '1 h'],
  [8, '8 h'],
  [24, '24 h'],
  [72, '3 d'],
  [168, '7 d'],
];

export function ReportsPanel() {
  const [hours, setHours] = useState(24);
  const [siteText, setSiteText] = useState('');
  const site = useDebounced(siteText.trim(), 400);
  const reports = useAlarmReports(hours, site);
  const report = reports.data;
  const flood = report?.flood;
  return (
    <div className="reports">
      <div className="filters">
        <div className="segmented" role="group" aria-label="Period">
          {PERIODS.map(([value, label]) => (
            <button
              key={value}
              type="button"
              aria-pressed={hours === value}
              onClick={() => setHours(value)}
            >
              {label}
            </button>
          ))}
        </div>
        <label className="field">
          <span className="field__label">Site</span>
          <input
            className="input"
            placeholder="all"
            value={siteText}
            onChange={(event) => setSiteText(event.target.value)}
          />
        </label>
      </div>
      {reports.isError ? (
        <ErrorNotice error={reports.error} context="Could not load the alarm reports" />
      ) : null}
      {reports.isPending ? <p className="muted">Loading reports…</p> : null}
      {report && flood ? (
        <>
          <dl className="tiles" aria-label="Flood figures">
            <div className={`tile${flood.flood_windows > 0 ? ' tile--bad' : ''}`}>
              <dt>Flood windows</dt>
              <dd>{flood.flood_windows}</dd>
            </div>
            <div className={`tile${flood.percent_time_in_flood > 1 ? ' tile--bad' : ''}`}>
              <dt>Time in flood</dt>
              <dd>{flood.percent_time_in_flood.toFixed(1)} %</dd>
            </div>
            {report.raised !== undefined ? (
              <div className="tile">
                <dt>Alarms raised</dt>
                <dd>{report.raised}</dd>
              </div>
            ) : null}
            <div className={`tile${report.chattering.length > 0 ? ' tile--warn' : ''}`}>
              <dt>Chattering alarms</dt>
              <dd>{report.chattering.length}</dd>
            </div>
          </dl>
          <figure className="chart" aria-label="Alarms per 10 minutes">
            <figcaption className="muted">
              Alarms per {Math.round(flood.window_s / 60)} minutes per site,{' '}
              {formatDateTime(parseTime(report.start))} – {formatDateTime(parseTime(report.end))}{' '}
              UTC. More than {flood.threshold} in a window is a flood (ISA-18.2), drawn red.
            </figcaption>
            {flood.windows.length > 0 ? (
              <Suspense fallback={<p className="muted">Loading chart…</p>}>
                <FloodChart report={report} />
              </Suspense>
            ) : (
              <p className="muted">No alarms in this period.</p>
            )}
          </figure>
          <div className="reports__tables">
            <section aria-labelledby="frequent-heading">
              <h3 id="frequent-heading">Most frequent alarms</h3>
              {report.frequent.length === 0 ? (
                <p className="muted">None.</p>
              ) : (
                <table className="mini-table" aria-label="Most frequent alarms">
                  <thead>
                    <tr>
                      <th scope="col">Machine</th>
                      <th scope="col">Condition</th>
                      <th scope="col" className="num">
                        Count
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.frequent.map((f) => (
                      <tr key={`${f.machine_id}|${f.condition}`}>
                        <th scope="row">{f.machine_id}</th>
                        <td>{f.condition}</td>
                        <td className="num">{f.count}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section aria-labelledby="chattering-heading">
              <h3 id="chattering-heading">Chattering alarms</h3>
              {report.chattering.length === 0 ? (
                <p className="muted">None (3 or more activations within 60 s).</p>
              ) : (
                <table className="mini-table" aria-label="Chattering alarms">
                  <thead>
                    <tr>
                      <th scope="col">Machine</th>
                      <th scope="col">Condition</th>
                      <th scope="col" className="num">
                        Activations
                      </th>
                      <th scope="col" className="num">
                        Most in 60 s
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.chattering.map((c) => (
                      <tr key={`${c.machine_id}|${c.condition}`}>
                        <th scope="row">{c.machine_id}</th>
                        <td>{c.condition}</td>
                        <td className="num">{c.activations}</td>
                        <td className="num">{c.max_in_60s}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      ) : null}
    </div>
  );
}
