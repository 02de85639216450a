// The machine's live view: chart status (honest about liveness), range selector, latest values,
// the per-sensor chart with typical ranges, anomalies and threshold alarms (and each sensor's
// forecast when asked for), health and current anomaly, the machine's alarm history, and the
// desired state with its editor.
import { Suspense, lazy, useCallback, useMemo, useState } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { HISTORY_WIDTH, LIVE_WINDOW_MS, STALE_AFTER_MS } from '../../../config/live';
import { useNow } from '../../../hooks/useNow';
import { useSearchParam } from '../../../hooks/useSearchParam';
import { formatAge, formatClock, formatDateTime, formatMachineType } from '../../../lib/format';
import type { SeriesSnapshot } from '../../../lib/ringBuffer';
import { parseTime } from '../../../lib/time';
import { useConnectionStatus, useRealtime } from '../../../realtime/useRealtime';
import { useAnomalies, useMachineType, useSensorForecasts, useSeries } from '../api';
import { alarmMarks, anomalyEpisodes, liveWindow, operatingBands, typicalBand } from '../chartData';
import {
  describeSource,
  historyGapMs,
  resolutionUnit,
  seriesEnvelopes,
  seriesView,
} from '../historySeries';
import { forecastView } from '../forecastView';
import type { LiveTwin } from '../hooks/useLiveTwin';
import { useMachineAlarms } from '../hooks/useMachineAlarms';
import { AlarmHistoryPanel } from './AlarmHistoryPanel';
import { findRange, RANGES } from '../ranges';
import { DesiredPanel } from './DesiredPanel';
import type { TimeRange } from './SensorChart';
import { HealthCard } from './HealthCard';
import { LatestValues } from './LatestValues';

const SensorChart = lazy(() => import('./SensorChart'));

/** From this range up, the history window steps by the hour (its query holds for an hour). */
const WEEK_MS = 7 * 86_400_000;

/** Typical bands are recomputed every this many chart revisions (they move slowly). */
const BAND_EVERY = 30;

export function LiveTab({ machineId, live }: { machineId: string; live: LiveTwin }) {
  const stream = useRealtime();
  const serverNow = useCallback(() => stream.serverNow(), [stream]);
  const now = useNow(1000, serverNow);
  const connection = useConnectionStatus();
  const [rangeKey, setRangeKey] = useSearchParam('range');
  const range = findRange(rangeKey);
  const { store, revision, history } = live;
  const info = live.twin.data;
  // A time range dragged out on a chart: shown from the server's history, not live.
  const [zoom, setZoom] = useState<TimeRange | null>(null);
  const chooseRange = (key: string) => {
    setZoom(null);
    setRangeKey(key === 'live' ? null : key);
  };

  // Wider ranges: a window ending at the next minute (the next hour from a week up, so the query
  // key holds that long), downsampled by the server to min/max per pixel so spikes survive; the
  // server reads stored buckets (10 s … monthly, at most HISTORY_WIDTH per sensor: a year is 365
  // daily ones) when the range holds too many raw readings.
  const isHistory = zoom !== null || range.spanMs !== null;
  const step = (range.spanMs ?? 0) >= WEEK_MS ? 3_600_000 : 60_000;
  const edge = Math.floor(now / step) * step + step;
  const from = new Date(zoom ? zoom[0] : edge - (range.spanMs ?? 0)).toISOString();
  const to = new Date(zoom ? zoom[1] : edge).toISOString();
  const wide = useSeries(
    machineId,
    { from, to, width: HISTORY_WIDTH, method: 'minmax' },
    isHistory,
  );
  const anomalies = useAnomalies(machineId);
  const alarms = useMachineAlarms(machineId);
  const alarmItems = alarms.data?.items;
  const marks = useMemo(() => alarmMarks(alarmItems ?? []), [alarmItems]);

  const liveView = useMemo(() => {
    const sensors = store.sensors();
    const series = new Map<string, SeriesSnapshot>();
    const latest = new Map<string, number>();
    for (const sensor of sensors) {
      series.set(sensor, store.snapshot(sensor));
      const value = store.latestValue(sensor);
      if (value !== undefined) latest.set(sensor, value);
    }
    return { sensors, series, latest, points: store.totalPoints, latestTime: store.latestTime };
    // revision is the store's change signal
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, revision]);

  // The live window's axis steps once a minute (a stable array in between).
  const liveEdge = liveWindow(liveView.latestTime, LIVE_WINDOW_MS)?.[1] ?? null;
  const liveRange = useMemo(
    () => (liveEdge === null ? null : ([liveEdge - LIVE_WINDOW_MS, liveEdge] as TimeRange)),
    [liveEdge],
  );
  const historyView = useMemo(() => (wide.data ? seriesView(wide.data) : null), [wide.data]);
  const view = isHistory && historyView ? historyView : null;
  // A min/max band where the series stands for more readings than it has points.
  const envelopes = useMemo(
    () => (wide.data && historyView ? seriesEnvelopes(wide.data, historyView) : null),
    [wide.data, historyView],
  );
  const source = wide.data?.source;
  const resolution = source === undefined ? null : describeSource(source);
  const gapMs = wide.data
    ? historyGapMs(wide.data.source, Date.parse(to) - Date.parse(from), HISTORY_WIDTH)
    : undefined;
  const sensors = view ? view.sensors : liveView.sensors;
  const series = view ? view.series : liveView.series;

  const bandEpoch = isHistory ? -1 : Math.floor(revision / BAND_EVERY);
  const sensorKey = sensors.join(',');

  // Forecasts: off until asked for (each sensor's is a model fit on the server, and the time axis
  // widens to show it; the choice stays in the URL like the range). Offered on the ranges where
  // its horizon is a fair share of the axis (ranges.ts), never on a dragged zoom (the past).
  const [forecastParam, setForecastParam] = useSearchParam('forecast');
  const horizon = zoom === null ? range.forecastMinutes : null;
  const showForecast = forecastParam === 'on' && horizon !== null;
  // One list per set of sensors: a new array every frame would recombine the answers every frame.
  const forecastSensors = useMemo(() => (sensorKey ? sensorKey.split(',') : []), [sensorKey]);
  const forecastResults = useSensorForecasts(
    machineId,
    forecastSensors,
    horizon ?? 0,
    showForecast,
  );
  const forecast = useMemo(
    () => (showForecast ? forecastView(forecastResults, forecastSensors) : null),
    [showForecast, forecastResults, forecastSensors],
  );
  // Normal ranges: the machine type's operating ranges; learned from the data only for sensors
  // its profile lacks.
  const profile = useMachineType(info?.machine_type).data?.sensors;
  const { bands, learnedAny } = useMemo(
    () =>
      operatingBands(sensors, profile, (sensor) => {
        const points = series.get(sensor);
        return points ? typicalBand(points.y) : null;
      }),
    // Recomputed per band epoch, not per frame.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [sensorKey, bandEpoch, historyView, profile],
  );

  const anomalyEvents = anomalies.data?.items;
  const episodeClock = Math.floor(now / 5000);
  const episodes = useMemo(
    () => anomalyEpisodes(anomalyEvents ?? [], episodeClock * 5000),
    [anomalyEvents, episodeClock],
  );
  const openEpisode = episodes.find((e) => e.open);

  const lastSeen = Math.max(
    store.lastReceivedAt,
    info?.last_seen ? parseTime(info.last_seen) : Number.NaN,
  );
  const silentFor = now - lastSeen;
  const connected = connection.state === 'live';
  const stale =
    (info !== undefined && info.status !== 'online') ||
    !Number.isFinite(silentFor) ||
    silentFor > STALE_AFTER_MS;

  let statusText: string;
  let statusClass: string;
  if (isHistory) {
    const span = zoom
      ? `${formatDateTime(zoom[0])} – ${formatDateTime(zoom[1])} UTC`
      : `last ${range.label}`;
    statusText = `History: ${span}. Not live.`;
    statusClass = 'chart-status--paused';
  } else if (!connected) {
    statusText = `Not live (${connection.state}): the chart is paused.`;
    statusClass = 'chart-status--paused';
  } else if (info && stale) {
    statusText = `Not live: no new data for ${formatAge(silentFor)} (machine ${info.status}).`;
    statusClass = 'chart-status--stale';
  } else {
    statusText = 'Live.';
    statusClass = 'chart-status--live';
  }
  const points = view ? view.points : liveView.points;
  const latestTime = view ? view.latest : liveView.latestTime;
  const loadError = isHistory ? wide.error : history.error;

  return (
    <div className="live">
      <div className="cards">
        <HealthCard machineId={machineId} />
      </div>
      {openEpisode ? (
        <p className="notice notice--alert" role="note">
          Anomaly open since {formatClock(openEpisode.start)} UTC (peak{' '}
          {openEpisode.peak.toFixed(2)}
          {openEpisode.sensors.length > 0 ? `; ${openEpisode.sensors.join(', ')}` : ''}).
        </p>
      ) : null}
      <div className="chart-toolbar">
        <p className={`chart-status ${statusClass}`} role="status" aria-label="Chart status">
          <span>{statusText}</span>{' '}
          {isHistory ? (
            <>
              <span>
                Resolution:{' '}
                <span className="chart-status__source" aria-label="Resolution">
                  {resolution ?? 'loading…'}
                </span>
                {envelopes ? ', min/max band' : resolution ? ', min/max per pixel' : ''}
              </span>
              {' · '}
            </>
          ) : null}
          <span>
            <span className="chart-status__points">{points.toLocaleString('en-US')}</span> points
          </span>
          {' · '}
          <span>
            latest sample{' '}
            <time className="chart-status__latest">
              {Number.isFinite(latestTime) ? `${formatClock(latestTime)} UTC` : '—'}
            </time>
          </span>
        </p>
        <div className="chart-toolbar__controls">
          <div className="segmented" role="group" aria-label="Time range">
            {RANGES.map((r) => (
              <button
                key={r.key}
                type="button"
                aria-pressed={zoom === null && r.key === range.key}
                onClick={() => chooseRange(r.key)}
              >
                {r.label}
              </button>
            ))}
          </div>
          <div className="segmented" role="group" aria-label="Forecast">
            <button
              type="button"
              aria-pressed={showForecast}
              disabled={horizon === null}
              title={
                zoom !== null
                  ? 'No forecast on a dragged time range (reset the zoom)'
                  : horizon === null
                    ? 'Forecasts are drawn on the Live, 1 h and 24 h ranges'
                    : `Each sensor's next ${horizon >= 60 ? `${horizon / 60} h` : `${horizon} min`} with its prediction interval`
              }
              onClick={() => setForecastParam(showForecast ? null : 'on')}
            >
              Forecast
            </button>
          </div>
        </div>
      </div>
      {loadError ? <ErrorNotice error={loadError} context="Could not load history" /> : null}
      {anomalies.isError ? (
        <ErrorNotice error={anomalies.error} context="Could not load anomalies" />
      ) : null}
      {!isHistory && liveView.sensors.length > 0 ? (
        <LatestValues sensors={liveView.sensors} values={liveView.latest} />
      ) : null}
      {sensors.length > 0 ? (
        <figure
          className={`chart ${connected && !stale && !isHistory ? '' : 'chart--paused'}`}
          aria-label="Sensor chart"
        >
          <Suspense fallback={<p className="muted">Loading chart…</p>}>
            <SensorChart
              machineId={machineId}
              sensors={sensors}
              series={series}
              bands={bands}
              episodes={episodes}
              alarms={marks}
              revision={isHistory ? -1 : revision}
              paused={!connected || stale || isHistory}
              range={zoom ?? (isHistory ? null : liveRange)}
              onZoom={setZoom}
              envelopes={isHistory ? envelopes : null}
              gapMs={isHistory ? gapMs : undefined}
              forecasts={forecast?.forecasts ?? null}
            />
          </Suspense>
          <figcaption className="chart__legend muted">
            <span className="legend legend--band" />{' '}
            {profile
              ? `normal operating range (${formatMachineType(info?.machine_type ?? '')} profile${learnedAny ? '; learned from the data where it has none' : ''})`
              : 'typical range (median ± 3σ of the data shown)'}
            <span className="legend legend--anomaly" /> anomaly
            {isHistory && envelopes ? (
              <>
                <span className="legend legend--minmax" /> min … max of each{' '}
                {resolutionUnit(source)}
              </>
            ) : null}
            {marks.size > 0 ? (
              <>
                <span className="legend legend--alarm" /> threshold alarm (raised │, cleared ┆)
              </>
            ) : null}
            {forecast?.legend ? (
              <>
                <span className="legend legend--forecast" /> {forecast.legend}
              </>
            ) : null}
          </figcaption>
          {forecast && forecast.notes.length > 0 ? (
            <div className="forecast-notes muted" role="note" aria-label="Forecast note">
              {forecast.notes.map(({ note, names }) => (
                <p key={note}>
                  No forecast for {names.join(', ')}: {note}
                </p>
              ))}
            </div>
          ) : null}
        </figure>
      ) : (isHistory ? wide.isSuccess : history.isSuccess) ? (
        <p className="muted">No readings in this range yet.</p>
      ) : (
        <p className="muted">Loading history…</p>
      )}
      <AlarmHistoryPanel
        machineId={machineId}
        alarms={alarms.data}
        error={alarms.isError ? alarms.error : null}
      />
      {info ? <DesiredPanel twin={info} /> : null}
    </div>
  );
}
