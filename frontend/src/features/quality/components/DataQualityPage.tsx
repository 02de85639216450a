// The fleet's data quality over a window (24 h / 7 d / 30 d): counts per cleansing rule, the
// machines with the most issues (each opens the machine on its data-quality tab), the device clocks
// off beyond the threshold and the gaps. About the data, not the machines' health (anomalies).
import { ErrorNotice } from '../../../components/ErrorNotice';
import { QualityWindowPicker, useQualityWindow } from '../../../components/QualityWindowPicker';
import { RuleCountsTable } from '../../../components/RuleCountsTable';
import { useSearchParam } from '../../../hooks/useSearchParam';
import { formatDateTime, formatDuration } from '../../../lib/format';
import { formatOffset, RULES, ruleCount } from '../../../lib/dataQuality';
import { parseTime } from '../../../lib/time';
import { useFleetDataQuality } from '../api';

interface DataQualityPageProps {
  selectedMachine: string | null;
  onOpenMachine: (machineId: string) => void;
}

export function DataQualityPage({ selectedMachine, onOpenMachine }: DataQualityPageProps) {
  const [window, setWindow] = useQualityWindow();
  const [, setTab] = useSearchParam('tab');
  const quality = useFleetDataQuality(window);
  const data = quality.data;
  const open = (machineId: string) => {
    setTab('quality');
    onOpenMachine(machineId);
  };
  return (
    <section className="panel quality" aria-labelledby="quality-heading">
      <div className="panel__header">
        <h2 id="quality-heading">Data quality</h2>
        <QualityWindowPicker value={window} onChange={setWindow} />
      </div>
      <p className="muted quality__intro">
        Problems of the data (impossible values, silence, duplicates, late messages, wrong device
        clocks), not of the machines: those are anomalies and alarms.
      </p>
      {quality.isError ? (
        <ErrorNotice error={quality.error} context="Could not load data quality" />
      ) : null}
      {quality.isPending ? <p className="muted">Loading data quality…</p> : null}
      {data ? (
        <>
          <p className="muted" aria-label="Data-quality window">
            {formatDateTime(parseTime(data.start))} – {formatDateTime(parseTime(data.end))} UTC
            {data.rules.enabled ? '' : ' · the rules are switched off in this backend'}
          </p>
          <dl className="tiles" aria-label="Data-quality figures">
            <div className={`tile${data.machines_affected > 0 ? ' tile--warn' : ''}`}>
              <dt>Machines affected</dt>
              <dd>{data.machines_affected}</dd>
            </div>
            <div className={`tile${data.gaps > 0 ? ' tile--warn' : ''}`}>
              <dt>Gaps</dt>
              <dd>
                {data.gaps}
                {data.gaps > 0 ? (
                  <span className="tile__note"> ({formatDuration(data.gap_seconds)})</span>
                ) : null}
              </dd>
            </div>
            <div className={`tile${data.clock_offsets.length > 0 ? ' tile--bad' : ''}`}>
              <dt>Clocks off</dt>
              <dd>{data.clock_offsets.length}</dd>
            </div>
          </dl>
          <RuleCountsTable counts={data.counts} rules={data.rules} label="Counts per rule" />
          <div className="reports__tables">
            <section aria-labelledby="quality-machines-heading">
              <h3 id="quality-machines-heading">Machines with the most issues</h3>
              {data.top_machines.length === 0 ? (
                <p className="muted">None in this window.</p>
              ) : (
                <table className="mini-table" aria-label="Machines with the most issues">
                  <thead>
                    <tr>
                      <th scope="col">Machine</th>
                      <th scope="col" className="num">
                        Issues
                      </th>
                      <th scope="col">By rule</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.top_machines.map((m) => (
                      <tr
                        key={m.machine_id}
                        aria-selected={m.machine_id === selectedMachine ? true : undefined}
                      >
                        <th scope="row">
                          <button type="button" className="link" onClick={() => open(m.machine_id)}>
                            {m.machine_id}
                          </button>
                        </th>
                        <td className="num">{m.total.toLocaleString('en-US')}</td>
                        <td className="muted">
                          {RULES.filter(({ rule }) => (ruleCount(m.counts, rule) ?? 0) > 0)
                            .map(({ rule, label }) => `${label} ${ruleCount(m.counts, rule)}`)
                            .join(' · ')}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section aria-labelledby="quality-clocks-heading">
              <h3 id="quality-clocks-heading">Clocks beyond the threshold</h3>
              {data.clock_offsets.length === 0 ? (
                <p className="muted">
                  None: every device clock is within {data.rules.clock_offset_threshold_s} s.
                </p>
              ) : (
                <table className="mini-table" aria-label="Clocks beyond the threshold">
                  <thead>
                    <tr>
                      <th scope="col">Machine</th>
                      <th scope="col" className="num">
                        Offset
                      </th>
                      <th scope="col">Estimated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.clock_offsets.map((c) => (
                      <tr key={c.machine_id}>
                        <th scope="row">
                          <button type="button" className="link" onClick={() => open(c.machine_id)}>
                            {c.machine_id}
                          </button>
                        </th>
                        <td className="num">{formatOffset(c.offset_s)}</td>
                        <td className="muted">
                          {formatDateTime(parseTime(c.updated_at))} UTC, {c.samples} windows
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      ) : null}
    </section>
  );
}
