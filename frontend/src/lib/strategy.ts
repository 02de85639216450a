// The operating-strategy vocabulary (backend: dtwin/contracts/strategies.py): each strategy's label and
// colour class. The names used before issue #16 (`stable`, `monitor`) read as today's, since a twin or a
// stream message from a backend not yet upgraded may still carry them.
import type { Decision } from '../api/types';

export type Strategy = Decision['strategy'];

export const STRATEGIES: readonly Strategy[] = [
  'defensive',
  'neutral',
  'stable_growth',
  'aggressive',
];

const LEGACY: Readonly<Record<string, Strategy>> = { stable: 'stable_growth', monitor: 'neutral' };

const LABELS: Readonly<Record<Strategy, string>> = {
  defensive: 'defensive',
  neutral: 'neutral',
  stable_growth: 'stable growth',
  aggressive: 'aggressive',
};

/** Today's name of a strategy (old names mapped); null for none or a name this dashboard does not know. */
export function canonicalStrategy(name: string | null | undefined): Strategy | null {
  if (!name) return null;
  if ((STRATEGIES as readonly string[]).includes(name)) return name as Strategy;
  return LEGACY[name] ?? null;
}

/** What to show and how to colour it: `chip--<strategy>` / `timeline__item--<strategy>` in styles.css. */
export function strategyView(name: string): { label: string; modifier: string } {
  const strategy = canonicalStrategy(name);
  return strategy
    ? { label: LABELS[strategy], modifier: strategy }
    : { label: name, modifier: 'unknown' };
}
