// The Reports page: the report definitions (kind, scope, period, cron schedule with its next run) with
// "Run now" (admins), the newest runs with their status and files (PDF, CSV: fetched with the
// session's token and handed over as blob URLs), a preview of a run's PDF, and a form for a new
// definition (admins). Viewers read everything and download.
import { useEffect, useId, useRef, useState } from 'react';
import type { ReportDefinition, ReportRun } from '../../../api/types';
import { usePermission } from '../../../auth/useSession';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { formatDateTime } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import { downloadRunFile, type ReportFormat, useReports, useRunPdf, useRunReport } from '../api';
import { kindLabel, periodLabel } from '../definitionForm';
import { DefinitionForm } from './DefinitionForm';

function when(iso: string | null | undefined): string {
  return iso ? `${formatDateTime(parseTime(iso))} UTC` : '—';
}

function runName(run: ReportRun, definitions: readonly ReportDefinition[]): string {
  const definition = definitions.find((d) => d.id === run.definition_id);
  if (definition) return definition.name;
  return typeof run.spec.name === 'string' ? run.spec.name : kindLabel(run.kind);
}

export function ReportsPage() {
  const reports = useReports();
  const run = useRunReport();
  const permission = usePermission('manageReports');
  const deniedId = useId();
  const denied = permission.allowed
    ? {}
    : { disabled: true, title: permission.reason ?? undefined, 'aria-describedby': deniedId };
  const [email, setEmail] = useState(false);
  const [creating, setCreating] = useState(false);
  const [preview, setPreview] = useState<number | null>(null);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const definitions = reports.data?.definitions ?? [];
  const runs = reports.data?.runs ?? [];

  const download = (id: number, format: ReportFormat) => {
    setDownloadError(null);
    downloadRunFile(id, format).catch((error: unknown) => setDownloadError(error));
  };

  return (
    <section className="panel reports-page" aria-labelledby="reports-heading">
      <div className="panel__header">
        <h2 id="reports-heading">Reports</h2>
      </div>
      <p className="muted">
        Maintenance and data-quality reports as PDF and CSV, run on their schedule (cron, in the
        plant’s time zone) or now, and emailed to their recipients.
      </p>
      {reports.isError ? (
        <ErrorNotice error={reports.error} context="Could not load the reports" />
      ) : null}
      {reports.isPending ? <p className="muted">Loading reports…</p> : null}

      <section aria-labelledby="report-definitions-heading">
        <div className="alarm-list__bar">
          <h3 id="report-definitions-heading">Definitions</h3>
          <label className="field field--inline">
            <input
              type="checkbox"
              checked={email}
              onChange={(event) => setEmail(event.target.checked)}
              disabled={!permission.allowed}
            />{' '}
            Email the recipients when run now
          </label>
          <button
            type="button"
            className="button"
            {...denied}
            onClick={() => setCreating((open) => !open)}
          >
            New definition
          </button>
          {permission.allowed ? null : (
            <span className="muted" id={deniedId}>
              {permission.reason}
            </span>
          )}
        </div>
        {creating && permission.allowed ? (
          <DefinitionForm onDone={() => setCreating(false)} />
        ) : null}
        {run.isError ? <ErrorNotice error={run.error} context="The report did not run" /> : null}
        {run.isSuccess ? (
          <p className="notice" role="status" aria-label="Last run">
            Run {run.data.id} {run.data.status}
            {run.data.has_data === false ? ' (no data for the period)' : ''}.
          </p>
        ) : null}
        {reports.data && definitions.length === 0 ? (
          <p className="muted">No report definitions yet.</p>
        ) : null}
        {definitions.length > 0 ? (
          <table className="mini-table" aria-label="Report definitions">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Scope</th>
                <th scope="col">Period</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next run</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {definitions.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.name}</th>
                  <td>{kindLabel(d.kind)}</td>
                  <td>{d.scope === 'site' ? `site ${d.site ?? ''}` : 'fleet'}</td>
                  <td>{periodLabel(d.period)}</td>
                  <td>
                    {d.schedule ? (
                      <code>{d.schedule}</code>
                    ) : (
                      <span className="muted">on demand</span>
                    )}
                    {d.enabled ? null : <span className="muted"> (off)</span>}
                  </td>
                  <td>{d.schedule && d.enabled ? when(d.next_run_at) : '—'}</td>
                  <td>
                    <button
                      type="button"
                      className="button"
                      aria-label={`Run ${d.name} now`}
                      {...denied}
                      disabled={!permission.allowed || run.isPending}
                      onClick={() => run.mutate({ definition_id: d.id, email })}
                    >
                      {run.isPending && run.variables.definition_id === d.id
                        ? 'Running…'
                        : 'Run now'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>

      <section aria-labelledby="report-runs-heading">
        <h3 id="report-runs-heading">Newest runs</h3>
        {downloadError ? (
          <ErrorNotice error={downloadError} context="Could not download the file" />
        ) : null}
        {reports.data && runs.length === 0 ? <p className="muted">No runs yet.</p> : null}
        {runs.length > 0 ? (
          <table className="mini-table" aria-label="Report runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Report</th>
                <th scope="col">Period</th>
                <th scope="col">Status</th>
                <th scope="col">Files</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} aria-selected={preview === r.id ? true : undefined}>
                  <th scope="row">
                    {r.id}
                    <div className="muted">
                      {when(r.created_at)} · {r.trigger}
                    </div>
                  </th>
                  <td>
                    {runName(r, definitions)}
                    <div className="muted">{kindLabel(r.kind)}</div>
                  </td>
                  <td>
                    {when(r.period_start)} – {when(r.period_end)}
                  </td>
                  <td>
                    <span className={`status-text status-text--${r.status}`}>{r.status}</span>
                    {r.has_data === false ? <div className="muted">no data</div> : null}
                    {r.error ? <div className="field__error">{r.error}</div> : null}
                    {r.emailed_to.length > 0 ? (
                      <div className="muted">emailed to {r.emailed_to.join(', ')}</div>
                    ) : null}
                    {r.email_error ? <div className="muted">email: {r.email_error}</div> : null}
                  </td>
                  <td>
                    {r.formats.includes('pdf') ? (
                      <>
                        <button
                          type="button"
                          className="link"
                          aria-label={`Download PDF of run ${r.id}`}
                          onClick={() => download(r.id, 'pdf')}
                        >
                          PDF
                        </button>{' '}
                        <button
                          type="button"
                          className="link"
                          aria-label={`Preview run ${r.id}`}
                          aria-pressed={preview === r.id}
                          onClick={() => setPreview(preview === r.id ? null : r.id)}
                        >
                          Preview
                        </button>{' '}
                      </>
                    ) : null}
                    {r.formats.includes('csv') ? (
                      <button
                        type="button"
                        className="link"
                        aria-label={`Download CSV of run ${r.id}`}
                        onClick={() => download(r.id, 'csv')}
                      >
                        CSV
                      </button>
                    ) : null}
                    {r.formats.length === 0 ? <span className="muted">—</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      {preview !== null ? <PdfPreview runId={preview} /> : null}
    </section>
  );
}

/** The run's PDF in the browser's viewer, from a blob URL revoked when it changes or closes. */
function PdfPreview({ runId }: { runId: number }) {
  const pdf = useRunPdf(runId);
  const frame = useRef<HTMLIFrameElement>(null);
  const blob = pdf.data;
  useEffect(() => {
    const element = frame.current;
    if (!blob || !element) return;
    const url = URL.createObjectURL(blob);
    element.src = url;
    return () => {
      element.removeAttribute('src');
      URL.revokeObjectURL(url);
    };
  }, [blob]);
  return (
    <section className="report-preview" aria-labelledby="report-preview-heading">
      <h3 id="report-preview-heading">Preview of run {runId}</h3>
      {pdf.isError ? <ErrorNotice error={pdf.error} context="Could not load the PDF" /> : null}
      {pdf.isPending ? <p className="muted">Loading the PDF…</p> : null}
      {blob ? (
        <iframe
          ref={frame}
          className="report-preview__frame"
          title={`Report run ${runId} (PDF)`}
          width="100%"
          height="720"
        />
      ) : null}
    </section>
  );
}
