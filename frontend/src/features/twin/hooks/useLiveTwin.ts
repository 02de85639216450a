// The selected machine, live: one `twins` subscription filtered to it keeps the twin in the query
// cache current and appends every reported sample to bounded per-sensor series for the chart.
// The chart re-renders at most once per animation frame.
import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Twin } from '../../../api/types';
import { LIVE_WINDOW_MS, SERIES_CAPACITY } from '../../../config/live';
import { createFrameScheduler } from '../../../lib/frame';
import { applyTwinChange } from '../../../realtime/twinChanges';
import { useRealtime, useSubscription } from '../../../realtime/useRealtime';
import { seriesQueryKey, twinQueryKey, useSeries, useTwin } from '../api';
import { seriesSamples } from '../historySeries';
import { markChartData } from '../chartTiming';
import { SeriesStore } from '../seriesStore';

export interface LiveTwin {
  twin: ReturnType<typeof useTwin>;
  store: SeriesStore;
  /** Increments whenever the series changed; use as Plotly's `datarevision`. */
  revision: number;
  history: ReturnType<typeof useSeries>;
}

/** Must be remounted (React `key`) when `machineId` changes. */
export function useLiveTwin(machineId: string, capacity = SERIES_CAPACITY): LiveTwin {
  const queryClient = useQueryClient();
  const stream = useRealtime();
  const twin = useTwin(machineId);
  const [store] = useState(() => new SeriesStore(capacity));
  const [revision, setRevision] = useState(0);
  const [scheduler] = useState(() =>
    createFrameScheduler(() => {
      markChartData();
      setRevision((r) => r + 1);
    }),
  );
  useEffect(() => () => scheduler.cancel(), [scheduler]);

  // The chart's seed: the live window before now, downsampled by the server to the buffer's size.
  const [from] = useState(() => new Date(stream.serverNow() - LIVE_WINDOW_MS).toISOString());
  const history = useSeries(
    machineId,
    { from, width: capacity, method: 'lttb' },
    twin.isSuccess,
    true,
  );

  useEffect(() => {
    if (!history.data) return;
    store.loadHistory(seriesSamples(history.data));
    scheduler.schedule();
  }, [history.data, store, scheduler]);

  useSubscription(
    { sub: `machine:${machineId}`, stream: 'twins', filter: { machine_ids: [machineId] } },
    {
      snapshot: (items, reason) => {
        // After a gap the server could not replay, the chart's history has a hole: reload it.
        if (reason !== 'subscribe') {
          void queryClient.invalidateQueries({ queryKey: seriesQueryKey(machineId) });
        }
        const fresh = items.find((item) => item.id === machineId);
        if (!fresh) return;
        queryClient.setQueryData<Twin>(twinQueryKey(machineId), fresh);
        if (store.append(fresh, stream.serverNow())) scheduler.schedule();
      },
      update: (items) => {
        let changed = false;
        let current = queryClient.getQueryData<Twin>(twinQueryKey(machineId));
        for (const change of items) {
          if (change.id !== machineId) continue;
          const next = applyTwinChange(current, change);
          if (next) current = next;
          if (change.kind === 'reported' || change.kind === 'twin') {
            if (store.append(change, stream.serverNow())) changed = true;
          }
        }
        if (current) queryClient.setQueryData<Twin>(twinQueryKey(machineId), current);
        if (changed) scheduler.schedule();
      },
    },
  );

  return { twin, store, revision, history };
}
