// Health index, remaining useful life with its band, trend and strategy, and the sensors that
// contribute most to the current anomaly (from GET /twins/{id}/health).
import type { HealthRead } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { HealthBar } from '../../../components/HealthBar';
import { StrategyChip } from '../../../components/StrategyChip';
import { formatDuration, formatValue, sensorInfo } from '../../../lib/format';
import { scoreBand } from '../../../lib/status';
import { useHealth } from '../api';

interface Rul {
  seconds: number | null;
  lower_s: number | null;
  upper_s: number | null;
}

function asNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function readRul(rul: HealthRead['rul']): Rul | null {
  if (!rul) return null;
  return {
    seconds: asNumber(rul.seconds),
    lower_s: asNumber(rul.lower_s),
    upper_s: asNumber(rul.upper_s),
  };
}

export interface Contribution {
  sensor: string;
  value: number | null;
  expected: number | null;
  z: number | null;
  pctOfRange: number | null;
}

export function contributions(explanation: HealthRead['explanation']): Contribution[] {
  return explanation
    .filter((item) => typeof item.sensor === 'string')
    .map((item) => ({
      sensor: item.sensor as string,
      value: asNumber(item.value),
      expected: asNumber(item.expected),
      z: asNumber(item.z),
      pctOfRange: asNumber(item.pct_of_range),
    }))
    .sort((a, b) => Math.abs(b.z ?? 0) - Math.abs(a.z ?? 0))
    .slice(0, 5);
}

export function HealthCard({ machineId }: { machineId: string }) {
  const health = useHealth(machineId);
  if (health.isError) return <ErrorNotice error={health.error} context="Health" />;
  const data = health.data;
  if (!data) return <p className="muted">Loading health…</p>;
  if (!data.scored) {
    return (
      <section className="card" aria-label="Health">
        <h3>Health</h3>
        <p className="muted">Not scored yet: the engine has not seen enough of this machine.</p>
      </section>
    );
  }
  const rul = readRul(data.rul);
  const top = contributions(data.explanation);
  const score = data.anomaly_score;
  return (
    <>
      <section className="card" aria-label="Health">
        <h3>Health</h3>
        <div className="card__big">
          <HealthBar health={data.health} label="Health index" />
        </div>
        <dl className="facts">
          <div>
            <dt>Remaining useful life</dt>
            <dd aria-label="Remaining useful life">
              {rul?.seconds !== null && rul?.seconds !== undefined ? (
                <>
                  {formatDuration(rul.seconds)}{' '}
                  <span className="muted">
                    ({formatDuration(rul.lower_s)} – {formatDuration(rul.upper_s)})
                  </span>
                </>
              ) : (
                <span className="muted">no degradation trend</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Trend</dt>
            <dd>
              {data.trend_per_hour === null || data.trend_per_hour === undefined
                ? '—'
                : `${data.trend_per_hour > 0 ? '+' : ''}${data.trend_per_hour.toFixed(2)} / h`}
            </dd>
          </div>
          <div>
            <dt>Strategy</dt>
            <dd>{data.strategy ? <StrategyChip strategy={data.strategy} /> : '—'}</dd>
          </div>
        </dl>
      </section>
      <section className="card" aria-label="Current anomaly">
        <h3>
          Current anomaly{' '}
          <span className={`score score--${scoreBand(score)}`}>
            {score === null || score === undefined ? '' : `score ${score.toFixed(2)}`}
          </span>
        </h3>
        {data.is_anomaly && top.length > 0 ? (
          <table className="mini-table" aria-label="Top contributing sensors">
            <thead>
              <tr>
                <th scope="col">Sensor</th>
                <th scope="col">Value</th>
                <th scope="col">Expected</th>
                <th scope="col">z</th>
              </tr>
            </thead>
            <tbody>
              {top.map((item) => (
                <tr key={item.sensor}>
                  <th scope="row">{sensorInfo(item.sensor).label}</th>
                  <td className="num">{item.value === null ? '—' : formatValue(item.value)}</td>
                  <td className="num">
                    {item.expected === null ? '—' : formatValue(item.expected)}
                  </td>
                  <td className="num">{item.z === null ? '—' : item.z.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No anomaly right now.</p>
        )}
      </section>
    </>
  );
}
