// kWh per weekday × local hour as a heatmap table (a cell per hour, shaded by its mean kWh per hour
// of data). A table rather than a Plotly heatmap: plotly.js-basic (our bundle) has no heatmap trace,
// and a table is readable by screen readers (as the correlation heatmap).
import type { EnergyHeatmap as Heatmap } from '../../../api/types';
import { formatKwh } from '../energyWindow';

const DAY_NAMES: Record<string, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};
const HOURS = Array.from({ length: 24 }, (_, h) => h);

/** Mean kWh per hour of data in a cell (null: no data). */
export function cellMean(heatmap: Heatmap, day: number, hour: number): number | null {
  const hours = heatmap.hours[day]?.[hour] ?? 0;
  const kwh = heatmap.kwh[day]?.[hour] ?? 0;
  return hours > 0 ? kwh / hours : null;
}

export function EnergyHeatmap({ data }: { data: Heatmap }) {
  const means = data.weekdays.map((_, d) => HOURS.map((h) => cellMean(data, d, h)));
  const max = Math.max(0, ...means.flat().map((v) => v ?? 0));
  return (
    <div className="heatmap-scroll">
      <table className="heatmap heatmap--energy" aria-label="Consumption by weekday and hour">
        <thead>
          <tr>
            <td />
            {HOURS.map((h) => (
              <th key={h} scope="col" title={`${h}:00–${h + 1}:00`}>
                {String(h).padStart(2, '0')}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.weekdays.map((day, d) => (
            <tr key={day}>
              <th scope="row">{DAY_NAMES[day] ?? day}</th>
              {HOURS.map((h) => {
                const mean = means[d]?.[h] ?? null;
                const strength = mean === null || max <= 0 ? 0 : mean / max;
                return (
                  <td
                    key={h}
                    className="heatmap__cell"
                    style={{
                      background:
                        mean === null
                          ? 'transparent'
                          : `rgba(245, 158, 11, ${(0.06 + 0.8 * strength).toFixed(2)})`,
                    }}
                    title={`${DAY_NAMES[day] ?? day} ${String(h).padStart(2, '0')}:00: ${
                      mean === null
                        ? 'no data'
                        : `${formatKwh(mean)} per hour (${data.hours[d]?.[h] ?? 0} h)`
                    }`}
                  >
                    {mean === null ? '·' : mean.toFixed(mean >= 100 ? 0 : 1)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
