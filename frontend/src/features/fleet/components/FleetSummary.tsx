// Counts over the fleet: machines, stale ones and quality.
import type { Twin } from '../../../api/types';

interface FleetSummaryProps {
  twins: readonly Twin[];
  staleCount: number;
  shown: number;
}

export function FleetSummary({ twins, staleCount, shown }: FleetSummaryProps) {
  const quality = { good: 0, uncertain: 0, bad: 0 };
  for (const twin of twins) {
    if (twin.quality in quality) quality[twin.quality] += 1;
  }
  return (
    <dl className="summary" aria-label="Fleet summary">
      <div>
        <dt>Machines</dt>
        <dd>{twins.length}</dd>
      </div>
      <div>
        <dt>Live</dt>
        <dd>{twins.length - staleCount}</dd>
      </div>
      <div className={staleCount > 0 ? 'summary--warn' : undefined}>
        <dt>Stale</dt>
        <dd>{staleCount}</dd>
      </div>
      <div>
        <dt>Good / uncertain / bad</dt>
        <dd>
          {quality.good} / {quality.uncertain} / {quality.bad}
        </dd>
      </div>
      {shown !== twins.length ? (
        <div>
          <dt>Shown</dt>
          <dd>{shown}</dd>
        </div>
      ) : null}
    </dl>
  );
}
