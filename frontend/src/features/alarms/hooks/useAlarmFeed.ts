// The tab's one `alarms` subscription (every alarm the role may see) and the header badge's count:
// the stream's alarms merged by id and seq for the alarms page, and the summary's `unacknowledged`
// moved by the stream's transitions. When the stream is not live (disconnected, or the backend
// refused the subscription) the summary and the list are polled instead.
import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { alarmKeys, ALARMS_BASE } from '../../../api/alarms';
import { getJson } from '../../../api/client';
import type { Alarm, AlarmSummary } from '../../../api/types';
import type { AlarmChange } from '../../../realtime/messages';
import { useConnectionStatus, useSubscription } from '../../../realtime/useRealtime';
import {
  badgeChanges,
  badgeCount,
  badgeKnow,
  badgeSnapshot,
  badgeSummary,
  EMPTY_BADGE,
  mergeAlarms,
  type AlarmRow,
  type BadgeState,
} from '../alarmsStore';

/** Polling period of the summary and the list while the stream is not live. */
export const POLL_MS = 5_000;
/** A summary this long after the last transition corrects any drift of the badge's count. */
const RESYNC_MS = 2_000;

export interface AlarmFeed {
  /** Alarms seen on the stream (its snapshot of open alarms and every transition since). */
  alarms: ReadonlyMap<number, AlarmRow>;
  /** Grows with every snapshot (subscribe, or a gap after a reconnect): lists fetch again then. */
  epoch: number;
  /** The stream delivers: connected, subscribed and no error. False: poll. */
  live: boolean;
  /** Why the stream is not available (the server's error for the subscription). */
  error: string | null;
  /** The badge's count of unacknowledged alarms (null until the first summary). */
  unacknowledged: number | null;
  summary: AlarmSummary | undefined;
  /**
   * Applies an action's answer at once (the stream's copy of it follows and changes nothing);
   * `before` is the alarm as shown when the action started, for the badge when the stream never
   * told it about this alarm.
   */
  apply(items: readonly Alarm[], before?: readonly AlarmRow[]): void;
}

interface FeedState {
  alarms: ReadonlyMap<number, AlarmRow>;
  epoch: number;
  subscribed: boolean;
  error: string | null;
  badge: BadgeState;
}

type FeedEvent =
  | { type: 'snapshot'; items: Alarm[]; now: number }
  | { type: 'update'; items: Array<AlarmChange | AlarmRow>; now: number }
  | { type: 'know'; items: AlarmRow[]; now: number }
  | { type: 'summary'; value: number }
  | { type: 'error'; message: string };

const INITIAL: FeedState = {
  alarms: new Map(),
  epoch: 0,
  subscribed: false,
  error: null,
  badge: EMPTY_BADGE,
};

export function feedReducer(state: FeedState, event: FeedEvent): FeedState {
  switch (event.type) {
    case 'snapshot':
      return {
        alarms: mergeAlarms(new Map(), event.items),
        epoch: state.epoch + 1,
        subscribed: true,
        error: null,
        badge: badgeSnapshot(state.badge, event.items, event.now),
      };
    case 'update': {
      const alarms = mergeAlarms(state.alarms, event.items);
      const badge = badgeChanges(state.badge, event.items, event.now);
      return alarms === state.alarms && badge === state.badge ? state : { ...state, alarms, badge };
    }
    case 'know': {
      const badge = badgeKnow(state.badge, event.items, event.now);
      return badge === state.badge ? state : { ...state, badge };
    }
    case 'summary':
      return { ...state, badge: badgeSummary(state.badge, event.value) };
    case 'error':
      return { ...state, subscribed: false, error: event.message };
  }
}

export function useAlarmFeed(): AlarmFeed {
  const [state, dispatch] = useReducer(feedReducer, INITIAL);
  const connection = useConnectionStatus();
  const queryClient = useQueryClient();
  const live = connection.state === 'live' && state.subscribed && state.error === null;

  useSubscription(
    { sub: 'alarms', stream: 'alarms' },
    {
      snapshot: (items) => dispatch({ type: 'snapshot', items, now: Date.now() }),
      // Alarms are rare next to telemetry: one state update per message is fine.
      update: (items) => dispatch({ type: 'update', items, now: Date.now() }),
      error: (title, detail) =>
        dispatch({ type: 'error', message: detail ? `${title}: ${detail}` : title }),
    },
  );

  const summary = useQuery({
    queryKey: alarmKeys.summary,
    queryFn: ({ signal }) => getJson<AlarmSummary>(`${ALARMS_BASE}/summary`, undefined, signal),
    refetchInterval: live ? 60_000 : POLL_MS,
  });
  const { data, dataUpdatedAt } = summary;
  useEffect(() => {
    if (data) dispatch({ type: 'summary', value: data.unacknowledged });
  }, [data, dataUpdatedAt]);

  // After transitions (or a snapshot), a fresh summary soon corrects what the stream could not
  // know: alarms older than the snapshot, transitions that crossed the last summary in flight.
  const resync = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { badge } = state;
  useEffect(() => {
    if (badge.base === null || (!badge.stale && badge.delta === 0)) return;
    // One pending at a time, not pushed back by further transitions: a chattering alarm must
    // not keep the correction from ever coming.
    if (resync.current !== null) return;
    resync.current = setTimeout(() => {
      resync.current = null;
      void queryClient.invalidateQueries({ queryKey: alarmKeys.summary });
    }, RESYNC_MS);
  }, [badge, queryClient]);
  useEffect(
    () => () => {
      if (resync.current !== null) clearTimeout(resync.current);
    },
    [],
  );

  const apply = useCallback((items: readonly Alarm[], before: readonly AlarmRow[] = []) => {
    const now = Date.now();
    if (before.length > 0) dispatch({ type: 'know', items: [...before], now });
    dispatch({ type: 'update', items: [...items], now });
  }, []);

  const unacknowledged = badgeCount(badge);
  return useMemo(
    () => ({
      alarms: state.alarms,
      epoch: state.epoch,
      live,
      error: state.error,
      unacknowledged,
      summary: summary.data,
      apply,
    }),
    [state.alarms, state.epoch, live, state.error, unacknowledged, summary.data, apply],
  );
}
