// The fleet as a table: one row per machine, click to select. Rows are windowed (only those
// near the viewport are in the DOM) so 10,000 machines cost about as much as 40. The table is
// laid out as fixed-size flex rows (styles.css), each one a layout boundary, so a changed value
// makes the browser lay out that row only; the explicit ARIA roles keep the table semantics that
// a CSS display change would otherwise drop in some browsers.
import { memo } from 'react';
import { useVirtualRows } from '../../../hooks/useVirtualRows';
import type { FleetStore } from '../fleetStore';
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
  /** The machines shown, in order. */
  ids: readonly string[];
  store: FleetStore;
  selectedId: string | null;
  onSelect: (id: string) => void;
}

export const FleetTable = memo(function FleetTable({
  ids,
  store,
  selectedId,
  onSelect,
}: FleetTableProps) {
  const { ref, start, end, padTop, padBottom } = useVirtualRows<HTMLDivElement>(
    ids.length,
    ROW_HEIGHT_PX,
    3,
  );
  return (
    <div className="table-scroll" ref={ref}>
      <table
        className="fleet-table"
        role="table"
        aria-label="Machines"
        aria-rowcount={ids.length + 1}
      >
        <thead role="rowgroup">
          <tr role="row" aria-rowindex={1}>
            {COLUMNS.map((column) => (
              <th key={column} scope="col" role="columnheader">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {padTop > 0 ? <tr aria-hidden="true" style={{ height: padTop }} /> : null}
          {ids.slice(start, end).map((id, offset) => (
            <FleetRow
              key={id}
              index={start + offset + 2}
              id={id}
              store={store}
              selected={id === selectedId}
              onSelect={onSelect}
            />
          ))}
          {padBottom > 0 ? <tr aria-hidden="true" style={{ height: padBottom }} /> : null}
        </tbody>
      </table>
    </div>
  );
});
