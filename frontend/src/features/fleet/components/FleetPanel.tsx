// The fleet overview: every machine live from one rate-capped `twins` subscription, with
// filters (site, line, type, status), search by id, sorting and counts per status.
import { useDeferredValue, useMemo, useState } from 'react';
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

  const options = useMemo(() => fleetOptions(fleet.twins), [fleet.twins]);
  const counts = useMemo(() => countByStatus(fleet.twins, now), [fleet.twins, now]);
  const shown = useMemo(
    () => filterAndSort(fleet.twins, deferredFilter, sort, now),
    [fleet.twins, deferredFilter, sort, now],
  );
  const set = <K extends keyof FleetFilter>(key: K, value: FleetFilter[K]) =>
    setFilter((current) => ({ ...current, [key]: value }));

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
          onChange={(event) => set('search', event.target.value)}
        />
      </div>
      <div className="filters" role="group" aria-label="Filters">
        <Select
          label="Site"
          value={filter.site}
          options={options.sites}
          onChange={(value) => set('site', value)}
        />
        <Select
          label="Line"
          value={filter.line}
          options={options.lines}
          onChange={(value) => set('line', value)}
        />
        <Select
          label="Type"
          value={filter.machineType}
          options={options.machineTypes}
          format={formatMachineType}
          onChange={(value) => set('machineType', value)}
        />
        <Select
          label="Status"
          value={filter.status}
          options={STATUSES}
          onChange={(value) => set('status', value as TwinStatus | '')}
        />
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
            onStatus={(status) => set('status', status)}
          />
          {fleet.twins.length === 0 ? (
            <p className="muted">No machine has reported yet.</p>
          ) : shown.length === 0 ? (
            <p className="muted">No machine matches the filters.</p>
          ) : (
            <FleetTable twins={shown} selectedId={selectedId} onSelect={onSelect} now={now} />
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

function Select({ label, value, options, format, onChange }: SelectProps) {
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
}
