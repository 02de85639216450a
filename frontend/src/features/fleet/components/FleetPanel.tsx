// The fleet overview: every machine live from one rate-capped `twins` subscription, with
// filters (site, line, type, status), search by id, sorting, counts per status and figures per line.
import { memo, useCallback, useDeferredValue, useMemo, useState } from 'react';
import type { TwinStatus } from '../../../api/types';
import { formatMachineType } from '../../../lib/format';
import {
  countByStatus,
  EMPTY_FILTER,
  filterAndSort,
  fleetOptions,
  SORTS,
  STATUSES,
  type FleetFilter,
  type SortKey,
} from '../fleetView';
import { useFleet } from '../hooks/useFleet';
import { FleetSummary } from './FleetSummary';
import { FleetTable } from './FleetTable';
import { LineBreakdown } from './LineBreakdown';

interface FleetPanelProps {
  selectedId: string | null;
  onSelect: (id: string) => void;
}

export function FleetPanel({ selectedId, onSelect }: FleetPanelProps) {
  const fleet = useFleet();
  const now = fleet.now;
  const [filter, setFilter] = useState<FleetFilter>(EMPTY_FILTER);
  const [sort, setSort] = useState<SortKey>('id');
  const deferredFilter = useDeferredValue(filter);

  // A live update changes values, rarely which machines are shown, their order, the menus or
  // the counts: those keep their identity then, so the table, menus and summary skip rendering
  // and only the rows of changed machines re-render (each on its own, see FleetRow).
  const options = useStable(
    useMemo(() => fleetOptions(fleet.twins), [fleet.twins]),
    (a, b) =>
      sameItems(a.sites, b.sites) &&
      sameItems(a.lines, b.lines) &&
      sameItems(a.machineTypes, b.machineTypes),
  );
  const counts = useStable(
    useMemo(() => countByStatus(fleet.twins, now), [fleet.twins, now]),
    (a, b) => STATUSES.every((status) => a[status] === b[status]),
  );
  const shown = useStable(
    useMemo(
      () => filterAndSort(fleet.twins, deferredFilter, sort, now).map((twin) => twin.id),
      [fleet.twins, deferredFilter, sort, now],
    ),
    sameItems,
  );
  // Stable handlers, so the memoised menus and summary skip live renders.
  const on = useMemo(() => {
    const set =
      <K extends keyof FleetFilter>(key: K) =>
      (value: FleetFilter[K]) =>
        setFilter((current) => ({ ...current, [key]: value }));
    return {
      search: set('search'),
      site: set('site'),
      line: set('line'),
      machineType: set('machineType'),
      status: set('status'),
    };
  }, []);
  const onStatusMenu = useCallback((value: string) => on.status(value as TwinStatus | ''), [on]);
  // A line picked in the breakdown becomes the site and line filters; picked again, both clear.
  const onLine = useCallback(
    (site: string, line: string) =>
      setFilter((current) =>
        current.site === site && current.line === line
          ? { ...current, site: '', line: '' }
          : { ...current, site, line },
      ),
    [],
  );

  return (
    <section className="panel fleet" aria-labelledby="fleet-heading">
      <div className="panel__header">
        <h2 id="fleet-heading">Fleet</h2>
        <input
          type="search"
          className="input fleet__search"
          placeholder="Search machine id…"
          aria-label="Search machine id"
          value={filter.search}
          onChange={(event) => on.search(event.target.value)}
        />
      </div>
      <div className="filters" role="group" aria-label="Filters">
        <Select label="Site" value={filter.site} options={options.sites} onChange={on.site} />
        <Select label="Line" value={filter.line} options={options.lines} onChange={on.line} />
        <Select
          label="Type"
          value={filter.machineType}
          options={options.machineTypes}
          format={formatMachineType}
          onChange={on.machineType}
        />
        <Select label="Status" value={filter.status} options={STATUSES} onChange={onStatusMenu} />
        <label className="field">
          <span className="field__label">Sort</span>
          <select
            className="input"
            value={sort}
            onChange={(event) => setSort(event.target.value as SortKey)}
          >
            {SORTS.map((option) => (
              <option key={option.key} value={option.key}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {fleet.error ? (
        <div className="notice notice--error" role="alert">
          <strong>Live fleet: {fleet.error.title}</strong>
          {fleet.error.detail ? <span className="notice__detail">{fleet.error.detail}</span> : null}
        </div>
      ) : null}
      {!fleet.loaded ? (
        <p className="muted">Loading machines…</p>
      ) : (
        <>
          <FleetSummary
            total={fleet.twins.length}
            counts={counts}
            shown={shown.length}
            status={filter.status}
            onStatus={on.status}
          />
          {fleet.twins.length > 0 ? <LineBreakdown filter={filter} onPick={onLine} /> : null}
          {fleet.twins.length === 0 ? (
            <p className="muted">No machine has reported yet.</p>
          ) : shown.length === 0 ? (
            <p className="muted">No machine matches the filters.</p>
          ) : (
            <FleetTable
              ids={shown}
              store={fleet.store}
              selectedId={selectedId}
              onSelect={onSelect}
            />
          )}
        </>
      )}
    </section>
  );
}

interface SelectProps {
  label: string;
  value: string;
  options: readonly string[];
  format?: (value: string) => string;
  onChange: (value: string) => void;
}

/** `value`, or the previous value while `equal` says nothing changed. */
function useStable<T>(value: T, equal: (a: T, b: T) => boolean): T {
  const [stable, setStable] = useState(value);
  if (stable === value || equal(stable, value)) return stable;
  // Adjusting state while rendering (React re-renders this component at once, nothing else).
  setStable(value);
  return value;
}

function sameItems(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

const Select = memo(function Select({ label, value, options, format, onChange }: SelectProps) {
  return (
    <label className="field">
      <span className="field__label">{label}</span>
      <select className="input" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">All</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {format ? format(option) : option}
          </option>
        ))}
      </select>
    </label>
  );
});
