// The selected machine's chart data: history from the readings endpoint, then live points from
// the WebSocket appended into bounded ring buffers; re-renders at most once per animation frame.
import { useEffect, useState } from 'react';
import { SERIES_CAPACITY } from '../../../config/live';
import { createFrameScheduler } from '../../../lib/frame';
import { useTwinStream, useTwinUpdates } from '../../../realtime/useTwinStream';
import { useReadings } from '../api';
import { SeriesStore } from '../seriesStore';

export interface LiveSeries {
  store: SeriesStore;
  /** Increments whenever the store changed; use as Plotly's `datarevision`. */
  revision: number;
  history: ReturnType<typeof useReadings>;
}

/**
 * Must be remounted (React `key`) when `machineId` changes.
 * @param sensorCount sensors the machine reports (known from the twin); the history request asks
 *   for `capacity × sensorCount` readings, since the endpoint's limit counts all sensors together.
 */
export function useLiveSeries(
  machineId: string,
  sensorCount: number | undefined,
  capacity = SERIES_CAPACITY,
): LiveSeries {
  // One store per mounted view: the parent remounts this hook (key={machineId}) per machine.
  const [store] = useState(() => new SeriesStore(capacity));
  const [revision, setRevision] = useState(0);
  const [scheduler] = useState(() => createFrameScheduler(() => setRevision((r) => r + 1)));
  useEffect(() => () => scheduler.cancel(), [scheduler]);

  const limit = capacity * Math.max(1, sensorCount ?? 8);
  const history = useReadings(machineId, limit, sensorCount !== undefined);

  useEffect(() => {
    if (!history.data) return;
    store.loadHistory(history.data.items);
    scheduler.schedule();
  }, [history.data, store, scheduler]);

  const stream = useTwinStream();
  useTwinUpdates((items) => {
    let changed = false;
    for (const update of items) {
      if (update.id === machineId && store.append(update, stream.serverNow())) changed = true;
    }
    if (changed) scheduler.schedule();
  });

  return { store, revision, history };
}
