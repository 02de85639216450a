// The Decisions view: a timeline of strategy recommendations (defensive, neutral, stable growth,
// aggressive) with confidence and reasons; history from the API, new ones from the `decisions` stream.
import { useQueryClient } from '@tanstack/react-query';
import type { Decision, DecisionList } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { StrategyChip } from '../../../components/StrategyChip';
import { formatDateTime } from '../../../lib/format';
import { strategyView } from '../../../lib/strategy';
import { parseTime } from '../../../lib/time';
import { useSubscription } from '../../../realtime/useRealtime';
import { decisionsQueryKey, useDecisions } from '../api';

/** Merges decisions by id, oldest first, keeping at most `limit`. */
export function mergeDecisions(
  current: readonly Decision[],
  incoming: readonly Decision[],
  limit = 500,
): Decision[] {
  const byId = new Map(current.map((d) => [d.id, d]));
  for (const decision of incoming) byId.set(decision.id, decision);
  return [...byId.values()]
    .sort((a, b) => parseTime(a.ts) - parseTime(b.ts) || a.id - b.id)
    .slice(-limit);
}

export function DecisionsTab({ machineId }: { machineId: string }) {
  const queryClient = useQueryClient();
  const decisions = useDecisions(machineId);
  const merge = (items: Decision[]) =>
    queryClient.setQueryData<DecisionList>(decisionsQueryKey(machineId), (old) =>
      old ? { ...old, items: mergeDecisions(old.items, items) } : old,
    );
  useSubscription(
    {
      sub: `decisions:${machineId}`,
      stream: 'decisions',
      filter: { machine_ids: [machineId] },
    },
    { snapshot: merge, update: merge },
  );
  if (decisions.isError) {
    return <ErrorNotice error={decisions.error} context="Could not load decisions" />;
  }
  if (!decisions.data) return <p className="muted">Loading decisions…</p>;
  const items = [...decisions.data.items].reverse();
  if (items.length === 0) {
    return <p className="muted">No strategy decision in the last 24 hours.</p>;
  }
  return (
    <ol className="timeline" aria-label="Decisions">
      {items.map((decision) => (
        <li
          key={decision.id}
          className={`timeline__item timeline__item--${strategyView(decision.strategy).modifier}`}
        >
          <div className="timeline__head">
            <StrategyChip strategy={decision.strategy} />
            <time className="muted">{formatDateTime(parseTime(decision.ts))} UTC</time>
          </div>
          <div className="timeline__metrics">
            <Meter label="Confidence" value={decision.confidence} />
            <Meter label="Risk" value={decision.risk} />
            <Meter label="Opportunity" value={decision.opportunity} />
            <Meter label="Stability" value={decision.stability} />
          </div>
          {decision.reasons.length > 0 ? (
            <ul className="timeline__reasons">
              {decision.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function Meter({ label, value }: { label: string; value: number }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <span className="meter">
      <span className="meter__label">{label}</span>
      <span
        className="meter__track"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <span className="meter__fill" style={{ width: `${pct}%` }} />
      </span>
      <span className="meter__value">{pct}%</span>
    </span>
  );
}
