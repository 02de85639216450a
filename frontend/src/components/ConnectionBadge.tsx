// Header indicator of the WebSocket: live, connecting, reconnecting (with countdown), offline, or
// denied (a live view the role may not have).
import { useNow } from '../hooks/useNow';
import { useConnectionStatus } from '../realtime/useRealtime';

const LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  denied: 'Access denied',
} as const;

/** Why the last connection ended, for the tooltip (close codes of docs/api.md). */
const CLOSE_REASONS: Record<number, string> = {
  1001: 'server shutting down',
  1008: 'too many invalid messages',
  4000: 'connection lifetime reached',
  4001: 'no heartbeat from the server',
  4008: 'this tab was too slow to keep up',
  4401: 'not signed in, or the sign-in expired',
  4403: 'a live view is not allowed for your role',
};

function describe(failures: number, code: number | null): string | undefined {
  const parts: string[] = [];
  if (code !== null) parts.push(`last close: ${CLOSE_REASONS[code] ?? `code ${code}`}`);
  if (failures > 0) parts.push(`${failures} failed attempts`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

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
      title={describe(status.failures, status.lastCloseCode)}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span>{LABELS[status.state]}</span>
      {retryIn !== null && status.state !== 'live' ? (
        <span className="connection__retry">retry in {retryIn} s</span>
      ) : null}
    </div>
  );
}
