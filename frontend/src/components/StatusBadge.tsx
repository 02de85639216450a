// A machine's status (online / stale / offline) as a coloured, labelled badge.
import type { TwinStatus } from '../api/types';

export function StatusBadge({ status }: { status: TwinStatus }) {
  return (
    <span className={`badge badge--${status}`}>
      <span className={`dot dot--${status}`} aria-hidden="true" />
      {status}
    </span>
  );
}
