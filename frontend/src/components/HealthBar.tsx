// Health index 0–100 as a number with a small coloured bar (a meter for assistive tech).
import { healthBand } from '../lib/status';

export function HealthBar({
  health,
  label,
}: {
  health: number | null | undefined;
  label?: string;
}) {
  const band = healthBand(health);
  if (band === 'none' || health === null || health === undefined) {
    return <span className="health health--none">—</span>;
  }
  const value = Math.max(0, Math.min(100, health));
  return (
    <span
      className={`health health--${band}`}
      role="meter"
      aria-label={label ?? 'Health'}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(value)}
    >
      <span className="health__value">{Math.round(value)}</span>
      <span className="health__track" aria-hidden="true">
        <span className="health__fill" style={{ transform: `scaleX(${value / 100})` }} />
      </span>
    </span>
  );
}
