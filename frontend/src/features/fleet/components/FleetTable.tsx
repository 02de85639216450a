// The fleet as a table: one row per machine, click to select. Rows are windowed (only those
// near the viewport are in the DOM) so a fleet of 1,000 machines stays cheap to keep live.
import type { Twin } from '../../../api/types';
import { STALE_AFTER_MS } from '../../../config/live';
import { useVirtualRows } from '../../../hooks/useVirtualRows';
import { formatAge } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import { FleetRow, ROW_HEIGHT_PX } from './FleetRow';

const COLUMNS = ['Machine', 'Type', 'Site / line', 'Quality', 'Updated', 'Latest values'];

interface FleetTableProps {
  twins: readonly Twin[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  /** Current time on the server's clock (epoch ms). */
  now: number;
}

export function isStale(twin: Twin, now: number): boolean {
  const seen = parseTime(twin.last_seen);
  return !Number.isFinite(seen) || now - seen > STALE_AFTER_MS;
}

export function FleetTable({ twins, selectedId, onSelect, now }: FleetTableProps) {
  const { ref, start, end, padTop, padBottom } = useVirtualRows<HTMLDivElement>(
    twins.length,
    ROW_HEIGHT_PX,
  );
  return (
    <div className="table-scroll" ref={ref}>
      <table className="fleet-table" aria-rowcount={twins.length + 1}>
        <caption className="sr-only">Machines</caption>
        <thead>
          <tr aria-rowindex={1}>
            {COLUMNS.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {padTop > 0 ? <tr aria-hidden="true" style={{ height: padTop }} /> : null}
          {twins.slice(start, end).map((twin, offset) => (
            <FleetRow
              key={twin.id}
              index={start + offset + 2}
              twin={twin}
              selected={twin.id === selectedId}
              stale={isStale(twin, now)}
              age={formatAge(now - parseTime(twin.last_seen))}
              onSelect={onSelect}
            />
          ))}
          {padBottom > 0 ? <tr aria-hidden="true" style={{ height: padBottom }} /> : null}
        </tbody>
      </table>
    </div>
  );
}
