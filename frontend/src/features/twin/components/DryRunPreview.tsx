// The preview of a desired-state patch before "Apply" (POST /desired/dry-run; nothing is stored or
// sent): refused fields, the settings it moves, conflicts, and per moved sensor the predicted steady
// level with its interval against the operating range, alarm rules it would trip, the health change,
// and how each prediction was made.
import type { DryRun, SensorPrediction } from '../../../api/types';
import { ApiError } from '../../../api/client';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { formatAny, formatValue, sensorInfo } from '../../../lib/format';

const METHOD_TEXT: Record<SensorPrediction['method'], string> = {
  history_regression: 'this machine’s history',
  fleet_regression: 'its type’s fleet',
  insufficient_history: 'not enough history',
  no_model: 'no model',
};

function method(p: SensorPrediction): string {
  if (p.method === 'history_regression' || p.method === 'fleet_regression') {
    const machines = p.method === 'fleet_regression' ? `, ${p.machines} machines` : '';
    return `${METHOD_TEXT[p.method]} (n=${p.samples}${machines})`;
  }
  return METHOD_TEXT[p.method];
}

/** Health points, whole. */
const pct = (value: number) => Math.round(value).toString();

function flags(p: SensorPrediction): string[] {
  const out: string[] = [];
  if (p.range_status === 'outside') out.push('out of range');
  else if (p.range_status === 'may_leave') out.push('may leave range');
  for (const a of p.alarms ?? []) {
    out.push(`${a.likelihood === 'expected' ? 'alarm' : 'may alarm'}: ${a.name}`);
  }
  if (p.extrapolated) out.push('beyond settings seen');
  return out;
}

/** The problem's per-field errors (`loc` ["body", "<setting>"]) as "setting: message". */
export function fieldErrors(error: unknown): { field: string; message: string }[] | null {
  if (!(error instanceof ApiError) || error.status !== 422 || !error.problem.errors) return null;
  const out = error.problem.errors.map((e) => {
    const loc = Array.isArray(e.loc) ? (e.loc as unknown[]) : [];
    const last = loc[loc.length - 1];
    const field = typeof last === 'string' || typeof last === 'number' ? String(last) : 'patch';
    return { field, message: typeof e.msg === 'string' ? e.msg : '' };
  });
  return out.length > 0 ? out : null;
}

function Interval({ p }: { p: SensorPrediction }) {
  if (p.predicted === null || p.predicted === undefined) {
    return <span className="muted">—</span>;
  }
  return (
    <>
      <strong>{formatValue(p.predicted)}</strong>
      {p.lower !== null && p.lower !== undefined && p.upper !== null && p.upper !== undefined ? (
        <span className="muted">
          {' '}
          ({formatValue(p.lower)} – {formatValue(p.upper)})
        </span>
      ) : null}
    </>
  );
}

export function DryRunPreview({
  result,
  error,
  pending,
}: {
  result: DryRun | undefined;
  error: unknown;
  pending: boolean;
}) {
  const fields = fieldErrors(error);
  if (fields) {
    return (
      <div className="preview" aria-label="Preview" role="region">
        <ul className="notice notice--error preview__errors" aria-label="Refused settings">
          {fields.map((f) => (
            <li key={f.field}>
              <strong>{f.field}</strong>: {f.message}
            </li>
          ))}
        </ul>
      </div>
    );
  }
  if (error) {
    return <ErrorNotice error={error} context="Could not preview the patch" />;
  }
  if (!result) {
    return pending ? (
      <p className="muted" role="status">
        Previewing…
      </p>
    ) : null;
  }
  const { effect } = result;
  const health = effect.health;
  const changes = Object.entries(result.changes);
  return (
    <div className="preview" aria-label="Preview" role="region">
      <h4>
        Preview{' '}
        <span className="muted">
          (would be desired version {result.next_version}; nothing sent yet)
        </span>
      </h4>
      {changes.length === 0 ? (
        <p className="muted">The patch moves no setting the device reports differently.</p>
      ) : (
        <p aria-label="Setting changes">
          {changes.map(([name, c]) => (
            <span key={name} className="preview__change">
              <strong title={name}>{sensorInfo(name).label}</strong> {formatAny(c.reported)} →{' '}
              {formatAny(c.desired)}
            </span>
          ))}
        </p>
      )}
      {result.conflicts.map((c) => (
        <p key={`${c.kind}:${c.settings.join(',')}`} className="notice notice--warn" role="note">
          {c.detail}
        </p>
      ))}
      {effect.sensors.length > 0 ? (
        <table className="mini-table" aria-label="Predicted steady state">
          <thead>
            <tr>
              <th scope="col">Sensor</th>
              <th scope="col">Now</th>
              <th scope="col">Predicted (95%)</th>
              <th scope="col">Range</th>
              <th scope="col">Flags</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {effect.sensors.map((p) => {
              const f = flags(p);
              const bad = p.range_status === 'outside' || (p.alarms ?? []).length > 0;
              return (
                <tr key={p.sensor} className={bad ? 'row--delta' : undefined}>
                  <th scope="row" title={p.sensor}>
                    {sensorInfo(p.sensor).label}
                  </th>
                  <td className="num">
                    {p.current === null || p.current === undefined ? '—' : formatValue(p.current)}
                  </td>
                  <td className="num">
                    <Interval p={p} />
                  </td>
                  <td className="num">
                    {p.lo !== null && p.lo !== undefined && p.hi !== null && p.hi !== undefined
                      ? `${formatValue(p.lo)} – ${formatValue(p.hi)}`
                      : '—'}
                  </td>
                  <td>
                    {f.length > 0
                      ? f.map((x) => (
                          <span key={x} className="delta-tag">
                            {x}
                          </span>
                        ))
                      : p.predicted === null || p.predicted === undefined
                        ? ''
                        : 'in range'}
                  </td>
                  <td title={p.reason ?? undefined}>{method(p)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <p aria-label="Health change">
        Health:{' '}
        {health.method === 'limit_evidence' &&
        health.predicted !== null &&
        health.predicted !== undefined ? (
          <>
            {health.current === null || health.current === undefined
              ? 'unknown now'
              : pct(health.current)}{' '}
            → <strong>{pct(health.predicted)}</strong>
            <span className="muted">
              {' '}
              ({pct(health.lower ?? health.predicted)} – {pct(health.upper ?? health.predicted)};
              from the operating limits, after {formatValue(effect.settle_s)} s)
            </span>
          </>
        ) : (
          <span className="muted">no prediction ({health.reason})</span>
        )}
      </p>
    </div>
  );
}
