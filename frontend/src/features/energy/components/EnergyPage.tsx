// The Energy view: a site's (or one of its meters') consumption and cost per hour/day/week/month over
// a window (bars and a cost line, the buckets as a table), totals in the tariff's currency, what the
// meters' counters did (resets, rollovers, replacements, interpolated hours), kWh by weekday × hour
// and the monthly peak demand of the site. One meter in hourly buckets also shows its next 24 h
// forecast on the chart (forecasts are per meter: the intervals of a site's meters do not add up).
// A site, scope or window without data shows the API's note. Choices live in the URL.
import { lazy, Suspense, useId } from 'react';
import { problemOf } from '../../../api/client';
import type { Consumption, EnergyForecast } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { useDebounced } from '../../../hooks/useDebounced';
import { useSearchParam } from '../../../hooks/useSearchParam';
import { intervalPercent } from '../../../lib/forecast';
import {
  FORECAST_HOURS,
  useConsumption,
  useEnergyForecast,
  useHeatmap,
  useMeterSites,
  usePeaks,
} from '../api';
import {
  BUCKETS,
  bucketLabel,
  bucketOf,
  FLAGS,
  formatKwh,
  formatMoney,
  localDateTime,
  HOUR_MAX_DAYS,
  WINDOWS,
  windowFits,
  windowOf,
} from '../energyWindow';
import { EnergyHeatmap } from './EnergyHeatmap';

const ConsumptionChart = lazy(() => import('./ConsumptionChart'));

export function EnergyPage() {
  const [siteParam, setSite] = useSearchParam('site');
  const [bucketParam, setBucket] = useSearchParam('bucket');
  const [windowParam, setWindow] = useSearchParam('window');
  const [meterParam, setMeter] = useSearchParam('meter');
  const sites = useMeterSites();
  const meterSites = sites.data?.sites ?? [];
  const siteText = siteParam ?? meterSites[0] ?? '';
  // A typed site is asked for once typing pauses.
  const site = useDebounced(siteText.trim(), 400);
  const siteMeters = sites.data?.meters.get(site) ?? NO_METERS;
  // A meter of another site (the site changed) means the whole site again.
  const meter = meterParam !== null && siteMeters.includes(meterParam) ? meterParam : '';
  const bucket = bucketOf(bucketParam);
  const window = windowOf(windowParam, bucket);
  const consumption = useConsumption(meter ? 'meter' : 'site', meter || site, bucket, window);
  const peaks = usePeaks(site, window);
  const heatmap = useHeatmap(site, window);
  // The forecast is hourly: drawn after hourly buckets of one meter only.
  const withForecast = meter !== '' && bucket === 'hour';
  const forecast = useEnergyForecast(meter, withForecast);
  const listId = useId();
  const data = consumption.data;
  let forecastNote: string | null = null;
  if (withForecast && forecast.isError) {
    forecastNote = `No forecast for ${meter}: unavailable (${problemOf(forecast.error).title}).`;
  } else if (withForecast && forecast.data && forecast.data.items.length === 0) {
    forecastNote = `No forecast for ${meter}: ${forecast.data.note ?? 'too little history'}.`;
  } else if (meter !== '' && bucket !== 'hour') {
    forecastNote = `Hourly buckets show ${meter}'s next ${FORECAST_HOURS} h forecast.`;
  } else if (meter === '' && bucket === 'hour' && siteMeters.length > 0) {
    forecastNote = `Choose a meter to see its next ${FORECAST_HOURS} h forecast.`;
  }

  return (
    <section className="panel energy" aria-labelledby="energy-heading">
      <div className="panel__header">
        <h2 id="energy-heading">Energy</h2>
      </div>
      <div className="filters">
        <label className="field">
          <span className="field__label">Site</span>
          <input
            className="input"
            list={listId}
            placeholder={meterSites.length ? 'site' : 'no site has meters'}
            value={siteText}
            onChange={(event) => setSite(event.target.value)}
          />
          <datalist id={listId}>
            {meterSites.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span className="field__label">Meter</span>
          <select
            className="input"
            value={meter}
            disabled={siteMeters.length === 0}
            onChange={(event) => setMeter(event.target.value || null)}
          >
            <option value="">All of the site</option>
            {siteMeters.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <div className="segmented" role="group" aria-label="Bucket">
          {BUCKETS.map(([value, label]) => (
            <button
              key={value}
              type="button"
              aria-pressed={bucket === value}
              onClick={() => setBucket(value === 'day' ? null : value)}
            >
              {label}
            </button>
          ))}
        </div>
        <div className="segmented" role="group" aria-label="Window">
          {WINDOWS.map((w) => (
            <button
              key={w.key}
              type="button"
              aria-pressed={window.key === w.key}
              disabled={!windowFits(w, bucket)}
              title={
                windowFits(w, bucket)
                  ? undefined
                  : `At most ${HOUR_MAX_DAYS} days of hourly buckets`
              }
              onClick={() => setWindow(w.key)}
            >
              {w.label}
            </button>
          ))}
        </div>
      </div>
      {sites.isError ? (
        <ErrorNotice error={sites.error} context="Could not list the meters" />
      ) : null}
      {sites.isSuccess && meterSites.length === 0 ? (
        <p className="muted" role="note" aria-label="Meters">
          No energy meters in the fleet (twins of type energy meter): type a site to ask anyway.
        </p>
      ) : null}
      {site === '' ? null : (
        <>
          {consumption.isError ? (
            <ErrorNotice error={consumption.error} context="Could not load the consumption" />
          ) : null}
          {consumption.isPending ? <p className="muted">Loading consumption…</p> : null}
          {data ? (
            <ConsumptionSection
              data={data}
              forecast={withForecast ? (forecast.data ?? null) : null}
              forecastNote={forecastNote}
            />
          ) : null}
          <section aria-labelledby="energy-heatmap-heading">
            <h3 id="energy-heatmap-heading">By weekday and hour</h3>
            {heatmap.isError ? (
              <ErrorNotice error={heatmap.error} context="Could not load the heatmap" />
            ) : null}
            {heatmap.data ? (
              heatmap.data.empty ? (
                <p className="muted">{heatmap.data.note ?? 'No data in this window.'}</p>
              ) : (
                <>
                  <p className="muted">
                    Mean kWh per hour, local time ({heatmap.data.tz}), over{' '}
                    {formatKwh(heatmap.data.total_kwh)} in the window.
                  </p>
                  <EnergyHeatmap data={heatmap.data} />
                </>
              )
            ) : null}
          </section>
          <section aria-labelledby="energy-peaks-heading">
            <h3 id="energy-peaks-heading">Monthly peak demand</h3>
            {peaks.isError ? (
              <ErrorNotice error={peaks.error} context="Could not load the peaks" />
            ) : null}
            {peaks.data ? (
              peaks.data.empty ? (
                <p className="muted">{peaks.data.note ?? 'No data in these months.'}</p>
              ) : (
                <>
                  <p className="muted">
                    The highest 15-minute average kW of the site’s meters together, and when it
                    began ({peaks.data.tz}).
                  </p>
                  <table className="mini-table" aria-label="Monthly peak demand">
                    <thead>
                      <tr>
                        <th scope="col">Month</th>
                        <th scope="col" className="num">
                          Peak
                        </th>
                        <th scope="col">At</th>
                      </tr>
                    </thead>
                    <tbody>
                      {peaks.data.items.map((p) => (
                        <tr key={p.month}>
                          <th scope="row">{p.month}</th>
                          <td className="num">
                            {p.peak_kw === null
                              ? '—'
                              : `${p.peak_kw.toLocaleString('en-US', { maximumFractionDigits: 1 })} kW`}
                          </td>
                          <td>{p.at ? localDateTime(p.at, peaks.data.tz) : 'no data'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )
            ) : null}
          </section>
        </>
      )}
    </section>
  );
}

const NO_METERS: readonly string[] = [];

function ConsumptionSection({
  data,
  forecast,
  forecastNote,
}: {
  data: Consumption;
  forecast: EnergyForecast | null;
  forecastNote: string | null;
}) {
  const drawn = forecast !== null && forecast.items.length > 0;
  return (
    <section aria-labelledby="energy-consumption-heading">
      <h3 id="energy-consumption-heading">Consumption and cost</h3>
      {data.note ? (
        <p className="muted" role="note" aria-label="Consumption note">
          {data.note}
        </p>
      ) : null}
      {data.empty ? null : (
        <>
          <dl className="tiles" aria-label="Energy totals">
            <div className="tile">
              <dt>Consumption</dt>
              <dd>{formatKwh(data.total_kwh)}</dd>
            </div>
            <div className="tile">
              <dt>Cost</dt>
              <dd>{formatMoney(data.total_cost, data.currency)}</dd>
            </div>
            <div className="tile">
              <dt>Meters</dt>
              <dd>{data.meters.length}</dd>
            </div>
          </dl>
          <figure className="chart" aria-label="Consumption per bucket">
            <figcaption className="muted">
              kWh per {data.bucket} (bars; lighter: partly interpolated) and cost (line), local time
              ({data.tz}).
              {drawn
                ? ` Dashed: the next ${forecast.items.length} h forecast in its ${intervalPercent(forecast.interval)} interval.`
                : null}
            </figcaption>
            <Suspense fallback={<p className="muted">Loading chart…</p>}>
              <ConsumptionChart data={data} forecast={forecast} />
            </Suspense>
            {forecastNote ? (
              <p className="muted forecast-notes" role="note" aria-label="Forecast note">
                {forecastNote}
              </p>
            ) : null}
          </figure>
          <table className="mini-table" aria-label="Counter events">
            <caption className="muted">What the meters’ counters did in the window</caption>
            <tbody>
              {FLAGS.map(({ flag, label, means }) => (
                <tr key={flag}>
                  <th scope="row">{label}</th>
                  <td className="num">{data.flags[flag]}</td>
                  <td className="muted">{means}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>Buckets as a table</summary>
            <table className="mini-table" aria-label="Consumption per bucket">
              <thead>
                <tr>
                  <th scope="col">{data.bucket}</th>
                  <th scope="col" className="num">
                    kWh
                  </th>
                  <th scope="col" className="num">
                    Cost
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((b) => (
                  <tr key={b.start}>
                    <th scope="row">{bucketLabel(b.start, data.bucket, data.tz)}</th>
                    <td className="num">{formatKwh(b.kwh)}</td>
                    <td className="num">{formatMoney(b.cost, data.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
          <p className="muted">Counter values from {data.source}.</p>
        </>
      )}
    </section>
  );
}
