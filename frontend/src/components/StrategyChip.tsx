// A machine's operating strategy as a coloured, labelled chip (old names shown as today's).
import { strategyView } from '../lib/strategy';

export function StrategyChip({ strategy }: { strategy: string }) {
  const { label, modifier } = strategyView(strategy);
  return <span className={`chip chip--${modifier}`}>{label}</span>;
}
