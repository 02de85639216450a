// Counts per status over the whole fleet; each count filters the table to that status.
import { memo } from 'react';
import type { TwinStatus } from '../../../api/types';
import { STATUSES } from '../../../lib/status';
import type { StatusCounts } from '../fleetView';

interface FleetSummaryProps {
  total: number;
  counts: StatusCounts;
  shown: number;
  status: TwinStatus | '';
  onStatus: (status: TwinStatus | '') => void;
}

const LABELS: Record<TwinStatus, string> = { online: 'Online', stale: 'Stale', offline: 'Offline' };

export const FleetSummary = memo(function FleetSummary({
  total,
  counts,
  shown,
  status,
  onStatus,
}: FleetSummaryProps) {
  return (
    <div className="summary" role="group" aria-label="Fleet summary">
      <button
        type="button"
        className="summary__item"
        aria-pressed={status === ''}
        onClick={() => onStatus('')}
      >
        <span className="summary__label">Machines</span>
        <span className="summary__value">{total.toLocaleString('en-US')}</span>
      </button>
      {STATUSES.map((name) => (
        <button
          key={name}
          type="button"
          className={`summary__item summary__item--${name}`}
          aria-pressed={status === name}
          aria-label={`${LABELS[name]}: ${counts[name]}`}
          onClick={() => onStatus(status === name ? '' : name)}
        >
          <span className="summary__label">
            <span className={`dot dot--${name}`} aria-hidden="true" /> {LABELS[name]}
          </span>
          <span className="summary__value">{counts[name].toLocaleString('en-US')}</span>
        </button>
      ))}
      <span className="summary__shown muted" aria-live="polite">
        {shown === total ? 'all shown' : `${shown.toLocaleString('en-US')} shown`}
      </span>
    </div>
  );
});
