// The machine's data quality over a window (24 h / 7 d / 30 d): counts per cleansing rule, its gaps
// as a timeline, and its device clock's offset estimate. About the data this machine sent, not its
// health (the live view's anomalies and alarms).
import { lazy, Suspense } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { QualityWindowPicker, useQualityWindow } from '../../../components/QualityWindowPicker';
import { RuleCountsTable } from '../../../components/RuleCountsTable';
import { formatOffset } from '../../../lib/dataQuality';
import { formatDateTime, formatDuration } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import type { ClockOffset, DataQualityRules } from '../../../api/types';
import { useMachineDataQuality } from '../api';

const GapsTimeline = lazy(() => import('./GapsTimeline'));

function ClockOffsetText({
  offset,
  rules,
}: {
  offset: ClockOffset | null;
  rules: DataQualityRules;
}) {
  if (!offset) return <>no estimate yet (it takes a few of the machine’s messages)</>;
  const updated = formatDateTime(parseTime(offset.updated_at));
  return (
    <>
      <strong className={offset.beyond_threshold ? 'text-bad' : undefined}>
        {formatOffset(offset.offset_s)}
      </strong>{' '}
      {offset.beyond_threshold
        ? `— beyond the ${rules.clock_offset_threshold_s} s threshold${rules.clock_correction ? ', timestamps corrected' : ''}`
        : `— within the ${rules.clock_offset_threshold_s} s threshold`}
      <span className="muted">
        {' '}
        ({offset.samples} {offset.samples === 1 ? 'window' : 'windows'}, {updated} UTC)
      </span>
    </>
  );
}

export function DataQualityTab({ machineId }: { machineId: string }) {
  const [window, setWindow] = useQualityWindow();
  const quality = useMachineDataQuality(machineId, window);
  const data = quality.data;
  return (
    <div className="quality" aria-label="Data quality">
      <div className="chart-toolbar">
        <p className="muted quality__intro">
          Problems of the data this machine sent, not of the machine (those are its anomalies and
          alarms).
        </p>
        <QualityWindowPicker value={window} onChange={setWindow} />
      </div>
      {quality.isError ? (
        <ErrorNotice error={quality.error} context="Could not load data quality" />
      ) : null}
      {quality.isPending ? <p className="muted">Loading data quality…</p> : null}
      {data ? (
        <>
          <p aria-label="Clock offset">
            Device clock offset: <ClockOffsetText offset={data.clock_offset} rules={data.rules} />
          </p>
          <RuleCountsTable counts={data.counts} rules={data.rules} label="Counts per rule" />
          <figure className={data.gaps.length > 0 ? 'chart' : undefined} aria-label="Gaps timeline">
            <figcaption className="muted">
              {data.gap_count === 0
                ? 'No gaps'
                : `${data.gap_count} ${data.gap_count === 1 ? 'gap' : 'gaps'} (${formatDuration(data.gap_seconds)} without data)`}
              , {formatDateTime(parseTime(data.start))} – {formatDateTime(parseTime(data.end))} UTC
              {data.gaps.length < data.gap_count ? ` — the first ${data.gaps.length} drawn` : ''}.
            </figcaption>
            {data.gaps.length > 0 ? (
              <Suspense fallback={<p className="muted">Loading chart…</p>}>
                <GapsTimeline gaps={data.gaps} start={data.start} end={data.end} />
              </Suspense>
            ) : null}
          </figure>
        </>
      ) : null}
    </div>
  );
}
