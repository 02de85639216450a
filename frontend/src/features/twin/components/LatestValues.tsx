// The selected machine's current value per sensor, as compact tiles.
import { formatValue, sensorInfo } from '../../../lib/format';

interface LatestValuesProps {
  sensors: readonly string[];
  values: ReadonlyMap<string, number>;
}

export function LatestValues({ sensors, values }: LatestValuesProps) {
  return (
    <dl className="tiles" aria-label="Latest values">
      {sensors.map((sensor) => {
        const { label, unit } = sensorInfo(sensor);
        const value = values.get(sensor);
        return (
          <div key={sensor} className="tile">
            <dt>{label}</dt>
            <dd>
              {value === undefined ? '—' : formatValue(value)}
              {unit ? <span className="tile__unit"> {unit}</span> : null}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}
