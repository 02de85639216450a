// The fleet's live anomaly events: one `alerts` subscription, newest first.
import { useState } from 'react';
import type { AnomalyEvent } from '../../../api/types';
import { useSubscription } from '../../../realtime/useRealtime';
import { mergeAlerts } from '../alertsStore';

export interface LiveAlerts {
  events: AnomalyEvent[];
  loaded: boolean;
}

export function useAlerts(): LiveAlerts {
  const [state, setState] = useState<LiveAlerts>({ events: [], loaded: false });
  useSubscription(
    { sub: 'alerts', stream: 'alerts' },
    {
      snapshot: (items) => setState({ events: mergeAlerts([], items), loaded: true }),
      // Alerts are rare next to telemetry: a state update per message is fine.
      update: (items) =>
        setState((current) => ({ events: mergeAlerts(current.events, items), loaded: true })),
    },
  );
  return state;
}
