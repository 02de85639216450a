// The fleet feature's entry: loads the twin list, keeps it live, filters and shows it.
import { useCallback, useDeferredValue, useMemo, useState } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { useNow } from '../../../hooks/useNow';
import { useTwinStream } from '../../../realtime/useTwinStream';
import { useTwins } from '../api';
import { useLiveFleet } from '../hooks/useLiveFleet';
import { FleetSummary } from './FleetSummary';
import { FleetTable, isStale } from './FleetTable';

interface FleetPanelProps {
  selectedId: string | null;
  onSelect: (id: string) => void;
}

export function FleetPanel({ selectedId, onSelect }: FleetPanelProps) {
  const stream = useTwinStream();
  const serverNow = useCallback(() => stream.serverNow(), [stream]);
  const now = useNow(1000, serverNow);
  const twins = useTwins();
  useLiveFleet();

  const [filter, setFilter] = useState('');
  const deferredFilter = useDeferredValue(filter.trim().toLowerCase());
  const items = useMemo(() => twins.data?.items ?? [], [twins.data]);
  const shown = useMemo(() => {
    if (!deferredFilter) return items;
    return items.filter((twin) =>
      [twin.id, twin.machine_type, twin.site ?? '', twin.line ?? ''].some((field) =>
        field.toLowerCase().includes(deferredFilter),
      ),
    );
  }, [items, deferredFilter]);
  const staleCount = items.reduce((count, twin) => count + (isStale(twin, now) ? 1 : 0), 0);

  return (
    <section className="panel fleet" aria-labelledby="fleet-heading">
      <div className="panel__header">
        <h2 id="fleet-heading">Fleet</h2>
        <input
          type="search"
          className="fleet__filter"
          placeholder="Filter by id, type, site…"
          aria-label="Filter machines"
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
        />
      </div>
      {twins.isPending ? <p className="muted">Loading machines…</p> : null}
      {twins.isError ? <ErrorNotice error={twins.error} context="Could not load machines" /> : null}
      {twins.isSuccess ? (
        <>
          <FleetSummary twins={items} staleCount={staleCount} shown={shown.length} />
          {items.length === 0 ? (
            <p className="muted">No machine has reported yet.</p>
          ) : (
            <FleetTable twins={shown} selectedId={selectedId} onSelect={onSelect} now={now} />
          )}
        </>
      ) : null}
    </section>
  );
}
