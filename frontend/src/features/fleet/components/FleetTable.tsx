// The fleet as a table: one row per machine, click to select.
import type { Twin } from '../../../api/types';
import { STALE_AFTER_MS } from '../../../config/live';
import { formatAge } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import { FleetRow } from './FleetRow';

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
  return (
    <div className="table-scroll">
      <table className="fleet-table">
        <caption className="sr-only">Machines</caption>
        <thead>
          <tr>
            <th scope="col">Machine</th>
            <th scope="col">Type</th>
            <th scope="col">Site / line</th>
            <th scope="col">Quality</th>
            <th scope="col">Updated</th>
            <th scope="col">Latest values</th>
          </tr>
        </thead>
        <tbody>
          {twins.map((twin) => (
            <FleetRow
              key={twin.id}
              twin={twin}
              selected={twin.id === selectedId}
              stale={isStale(twin, now)}
              age={formatAge(now - parseTime(twin.last_seen))}
              onSelect={onSelect}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
