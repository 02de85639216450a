// Header indicator of the WebSocket: live, connecting, reconnecting (with countdown) or offline.
import { useNow } from '../hooks/useNow';
import { useConnectionStatus } from '../realtime/useRealtime';

const LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
} as const;

export function ConnectionBadge() {
  const status = useConnectionStatus();
  const now = useNow(1000);
  const retryIn =
    status.nextRetryAt !== null ? Math.max(0, Math.ceil((status.nextRetryAt - now) / 1000)) : null;
  return (
    <div
      className={`connection connection--${status.state}`}
      role="status"
      aria-label="Connection"
      title={status.failures > 0 ? `${status.failures} failed attempts` : undefined}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span>{LABELS[status.state]}</span>
      {retryIn !== null && status.state !== 'live' ? (
        <span className="connection__retry">retry in {retryIn} s</span>
      ) : null}
    </div>
  );
}
