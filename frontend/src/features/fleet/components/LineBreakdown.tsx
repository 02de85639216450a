// Machines, health and stale/offline counts per site and line from one aggregate request (issue #23),
// for the same filters as the table; a row filters the table to its line (again: all lines).
import { memo, useId, useState } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { HealthBar } from '../../../components/HealthBar';
import { healthBand } from '../../../lib/status';
import { useLineBreakdown } from '../api';
import type { FleetFilter } from '../fleetView';
import { breakdownRow, type BreakdownRow } from '../lineBreakdown';

interface LineBreakdownProps {
  filter: FleetFilter;
  /** Filters the table to one site and line (the fleet panel clears them if they are the filter). */
  onPick: (site: string, line: string) => void;
}

const NONE = '—';

const HEALTH_TONE = { good: '', warn: 'score--warn', bad: 'score--bad', none: 'muted' } as const;

export const LineBreakdown = memo(function LineBreakdown({ filter, onPick }: LineBreakdownProps) {
  const [open, setOpen] = useState(true);
  const headingId = useId();
  const bodyId = useId();
  // Closed: no requests at all, not even the poll.
  const breakdown = useLineBreakdown(filter, open);
  const answer = breakdown.data;
  const rows = answer?.groups.map(breakdownRow) ?? [];
  const total = answer ? breakdownRow(answer.total) : null;
  return (
    <section className="breakdown" aria-labelledby={headingId}>
      <h3 id={headingId} className="breakdown__heading">
        <button
          type="button"
          className="breakdown__toggle"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen((shown) => !shown)}
        >
          <span aria-hidden="true">{open ? '▾' : '▸'}</span> Per line
        </button>
        {open && filter.search ? (
          <span className="breakdown__note muted">not narrowed by the id search</span>
        ) : null}
      </h3>
      <div id={bodyId} hidden={!open}>
        {open ? (
          <>
            {breakdown.isError ? (
              <ErrorNotice error={breakdown.error} context="Per-line figures" />
            ) : null}
            {breakdown.isPending ? <p className="muted">Loading per-line figures…</p> : null}
            {answer && rows.length === 0 ? (
              <p className="muted">No machine matches the filters.</p>
            ) : null}
            {answer && rows.length > 0 ? (
              <div className="breakdown__scroll">
                <table
                  className="mini-table breakdown__table"
                  aria-label="Fleet per line"
                  aria-busy={breakdown.isPlaceholderData || undefined}
                >
                  <thead>
                    <tr>
                      <th scope="col">Site</th>
                      <th scope="col">Line</th>
                      <th scope="col" className="num">
                        Machines
                      </th>
                      <th scope="col">Avg health</th>
                      <th scope="col" className="num">
                        Min health
                      </th>
                      <th scope="col" className="num">
                        Stale
                      </th>
                      <th scope="col" className="num">
                        Offline
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row) => (
                      <LineRow
                        key={row.key}
                        row={row}
                        picked={row.site === filter.site && row.line === filter.line}
                        onPick={onPick}
                      />
                    ))}
                  </tbody>
                  {total && rows.length > 1 ? (
                    <tfoot>
                      <tr>
                        <th scope="row" colSpan={2}>
                          All shown
                        </th>
                        <Figures row={total} place="all shown lines" />
                      </tr>
                    </tfoot>
                  ) : null}
                </table>
              </div>
            ) : null}
          </>
        ) : null}
      </div>
    </section>
  );
});

interface LineRowProps {
  row: BreakdownRow;
  picked: boolean;
  onPick: (site: string, line: string) => void;
}

function LineRow({ row, picked, onPick }: LineRowProps) {
  const { site, line } = row;
  // For assistive tech: "no line" rather than a dash read out as "em dash".
  const place = `${site ?? 'no site'} / ${line ?? 'no line'}`;
  // Machines without a site or line cannot be picked: the table's filters have no "none" choice.
  const pickable = site !== null && line !== null;
  const className = [
    'breakdown__row',
    pickable && 'breakdown__row--pickable',
    picked && 'breakdown__row--picked',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <tr className={className} onClick={pickable ? () => onPick(site, line) : undefined}>
      <th scope="row">{site ?? NONE}</th>
      <th scope="row">
        {pickable ? (
          // The row handles the click; the button makes it reachable by keyboard.
          <button
            type="button"
            className="breakdown__pick"
            aria-pressed={picked}
            aria-label={`Show only ${place} in the table`}
          >
            {line}
          </button>
        ) : (
          (line ?? NONE)
        )}
      </th>
      <Figures row={row} place={place} />
    </tr>
  );
}

function Figures({ row, place }: { row: BreakdownRow; place: string }) {
  return (
    <>
      <td className="num">{row.machines.toLocaleString('en-US')}</td>
      <td>
        <HealthBar health={row.avgHealth} label={`Average health of ${place}`} />
      </td>
      <td className={`num ${HEALTH_TONE[healthBand(row.minHealth)]}`.trimEnd()}>
        {row.minHealth === null ? NONE : Math.round(row.minHealth)}
      </td>
      <td className={row.stale > 0 ? 'num breakdown__count--stale' : 'num muted'}>
        {row.stale.toLocaleString('en-US')}
      </td>
      <td className={row.offline > 0 ? 'num breakdown__count--offline' : 'num muted'}>
        {row.offline.toLocaleString('en-US')}
      </td>
    </>
  );
}
