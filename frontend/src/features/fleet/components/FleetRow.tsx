// One machine in the fleet table. A row subscribes to its own machine in the fleet store, so a
// fleet update re-renders only the rows whose machine changed, a few rows per frame; the table
// around it re-renders only when the rows shown or their order change.
import { memo, useCallback, useSyncExternalStore } from 'react';
import { HealthBar } from '../../../components/HealthBar';
import { StatusBadge } from '../../../components/StatusBadge';
import { formatMachineType, formatReading, sensorInfo } from '../../../lib/format';
import { scoreBand } from '../../../lib/status';
import type { FleetStore } from '../fleetStore';

/** The readings cell shows this many sensors (alphabetically); the machine view shows them all. */
const READINGS_SHOWN = 3;

/** Every row has this height (CSS clamps the content) so the table can be windowed. */
export const ROW_HEIGHT_PX = 40;

interface FleetRowProps {
  /** 1-based position in the whole table, header included (aria-rowindex). */
  index: number;
  id: string;
  store: FleetStore;
  selected: boolean;
  onSelect: (id: string) => void;
}

export const FleetRow = memo(function FleetRow({
  index,
  id,
  store,
  selected,
  onSelect,
}: FleetRowProps) {
  const subscribe = useCallback(
    (listener: () => void) => store.subscribeRow(id, listener),
    [store, id],
  );
  const view = useSyncExternalStore(subscribe, () => store.getRow(id));
  if (!view) return null;
  const { twin, status, age, live } = view;
  const place = [twin.site, twin.line].filter(Boolean).join(' / ') || '—';
  const sensors = Object.keys(twin.readings).sort().slice(0, READINGS_SHOWN);
  const className = ['fleet-row', `fleet-row--${status}`, selected && 'fleet-row--selected']
    .filter(Boolean)
    .join(' ');
  const score = twin.anomaly_score;
  return (
    <tr
      role="row"
      className={className}
      aria-rowindex={index}
      aria-current={selected ? 'true' : undefined}
      style={{ height: ROW_HEIGHT_PX }}
      onClick={() => onSelect(twin.id)}
    >
      <th scope="row" role="rowheader">
        {/* The row handles the click; the button makes the row reachable by keyboard. */}
        <button type="button" className="fleet-row__id">
          {twin.id}
        </button>
      </th>
      <td role="cell">
        <StatusBadge status={status} />
      </td>
      <td role="cell">
        <HealthBar health={twin.health} />
      </td>
      <td role="cell" className={`num score score--${scoreBand(score)}`}>
        {score === null || score === undefined ? '—' : score.toFixed(2)}
      </td>
      <td role="cell" className="fleet-row__type" title={twin.machine_type}>
        {formatMachineType(twin.machine_type)}
      </td>
      <td role="cell" className="nowrap">
        {place}
      </td>
      <td role="cell" className="fleet-row__age nowrap" title={twin.last_seen ?? undefined}>
        {age}
      </td>
      <td role="cell" className="fleet-row__readings">
        <ul
          className={live ? 'readings' : 'readings readings--catching-up'}
          aria-label={`Latest values of ${twin.id}`}
          title={live ? undefined : 'Updating: these values may be old'}
        >
          {sensors.map((sensor) => (
            <li key={sensor} className="readings__item">
              <span className="readings__label">{sensorInfo(sensor).label}</span>{' '}
              <span className="readings__value">
                {formatReading(sensor, twin.readings[sensor] ?? Number.NaN)}
              </span>
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
});
