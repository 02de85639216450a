// The whole fleet, live: a `twins` subscription (rate-capped, without readings) and one for the
// rows on screen (in full), both feeding a FleetStore.
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { Twin } from '../../../api/types';
import { subscribeTicker } from '../../../hooks/useNow';
import type { ChangeFieldName } from '../../../realtime/messages';
import { useRealtime, useSubscription } from '../../../realtime/useRealtime';
import { FleetStore } from '../fleetStore';

/** Updates per second the fleet table asks the server for; changes in between are coalesced. */
export const FLEET_MAX_RATE_HZ = 2;

/**
 * What the whole fleet's changes carry (docs/api.md `fields`): what the table counts, filters and
 * sorts by. Readings (most of the bytes) come only for the rows on screen, by a second
 * subscription.
 */
export const FLEET_FIELDS: ChangeFieldName[] = [
  'last_seen',
  'status',
  'health',
  'anomaly_score',
  'strategy',
  'machine_type',
  'site',
  'line',
];

/** Ages and staleness in the table move at least this often (ms). */
const CLOCK_MS = 1000;

export interface LiveFleet {
  /** The store itself: table rows subscribe to their own machine in it. */
  store: FleetStore;
  twins: readonly Twin[];
  loaded: boolean;
  /** The clock the fleet was last rendered at (server time, epoch ms). */
  now: number;
  /** Last subscription error from the server, if any. */
  error: { title: string; detail: string | null } | null;
}

export function useFleet(): LiveFleet {
  const stream = useRealtime();
  const [store] = useState(() => new FleetStore(() => stream.serverNow()));
  const [error, setError] = useState<LiveFleet['error']>(null);
  useEffect(() => () => store.dispose(), [store]);
  // The page's shared clock; the store renders a tick only when no update did meanwhile.
  useEffect(() => subscribeTicker(CLOCK_MS, () => store.tick(CLOCK_MS)), [store]);
  useSubscription(
    { sub: 'fleet', stream: 'twins', max_rate_hz: FLEET_MAX_RATE_HZ, fields: FLEET_FIELDS },
    {
      snapshot: (items) => {
        setError(null);
        store.replaceAll(items);
      },
      update: (items) => store.applyChanges(items),
      error: (title, detail) => setError({ title, detail }),
    },
  );
  // The rows on screen, in full.
  const shown = useSyncExternalStore(store.subscribeShown, store.getShown);
  useSubscription(
    shown.length > 0
      ? {
          sub: 'rows',
          stream: 'twins',
          filter: { machine_ids: [...shown] },
          max_rate_hz: FLEET_MAX_RATE_HZ,
        }
      : null,
    {
      snapshot: (items) => store.coverRows(items),
      update: (items) => store.applyChanges(items),
      error: (title, detail) => setError({ title, detail }),
    },
  );
  const twins = useSyncExternalStore(store.subscribe, store.getItems);
  const now = useSyncExternalStore(store.subscribe, store.getNow);
  useEffect(() => {
    if (twins.length > 0 && performance.getEntriesByName('fleet-ready').length === 0) {
      // The load-time benchmark reads this mark: the first commit with the fleet rendered.
      performance.mark('fleet-ready');
    }
  }, [twins]);
  return { store, twins, loaded: store.isLoaded, now, error };
}
