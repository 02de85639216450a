// The fleet as a table: one row per machine, click to select. Rows are windowed (only those
// near the viewport are in the DOM) so 10,000 machines cost about as much as 40.
import type { Twin } from '../../../api/types';
import { useVirtualRows } from '../../../hooks/useVirtualRows';
import { formatAge } from '../../../lib/format';
import { effectiveStatus, lastSeenOf } from '../../../lib/status';
import { FleetRow, ROW_HEIGHT_PX } from './FleetRow';

const COLUMNS = [
  'Machine',
  'Status',
  'Health',
  'Anomaly',
  'Type',
  'Site / line',
  'Updated',
  'Latest values',
];

interface FleetTableProps {
  twins: readonly Twin[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  /** Current time on the server's clock (epoch ms). */
  now: number;
}

export function FleetTable({ twins, selectedId, onSelect, now }: FleetTableProps) {
  const { ref, start, end, padTop, padBottom } = useVirtualRows<HTMLDivElement>(
    twins.length,
    ROW_HEIGHT_PX,
    6,
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
              status={effectiveStatus(twin, now)}
              selected={twin.id === selectedId}
              age={twin.last_seen ? formatAge(now - lastSeenOf(twin)) : '—'}

              onSelect={onSelect}
            />
          ))}
          {padBottom > 0 ? <tr aria-hidden="true" style={{ height: padBottom }} /> : null}
        </tbody>
      </table>
    </div>
  );
}
