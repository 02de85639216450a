// The twin feature's entry: the selected machine's header, latest values and live chart.
import { Suspense, lazy, useCallback, useMemo, type ReactNode } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { QualityBadge } from '../../../components/QualityBadge';
import { STALE_AFTER_MS } from '../../../config/live';
import { useNow } from '../../../hooks/useNow';
import { formatAge, formatClock, formatMachineType } from '../../../lib/format';
import type { SeriesSnapshot } from '../../../lib/ringBuffer';
import { parseTime } from '../../../lib/time';
import { useConnectionStatus, useTwinStream } from '../../../realtime/useTwinStream';
import { useTwin } from '../api';
import { useLiveSeries } from '../hooks/useLiveSeries';
import { LatestValues } from './LatestValues';

const SensorChart = lazy(() => import('./SensorChart'));

interface TwinPanelProps {
  machineId: string;
  onClose: () => void;
}

export function TwinPanel({ machineId, onClose }: TwinPanelProps) {
  // A new machine gets fresh buffers and a fresh history request.
  return <TwinView key={machineId} machineId={machineId} onClose={onClose} />;
}

function TwinView({ machineId, onClose }: TwinPanelProps) {
  const stream = useTwinStream();
  const serverNow = useCallback(() => stream.serverNow(), [stream]);
  const now = useNow(1000, serverNow);
  const connection = useConnectionStatus();
  const twin = useTwin(machineId);
  const sensorCount = twin.data ? Object.keys(twin.data.readings).length : undefined;
  const { store, revision, history } = useLiveSeries(machineId, sensorCount);

  const view = useMemo(() => {
    const sensors = store.sensors();
    const series = new Map<string, SeriesSnapshot>();
    const latest = new Map<string, number>();
    for (const sensor of sensors) {
      series.set(sensor, store.snapshot(sensor));
      const value = store.latestValue(sensor);
      if (value !== undefined) latest.set(sensor, value);
    }
    return {
      sensors,
      series,
      latest,
      points: store.totalPoints,
      latestTime: store.latestTime,
      lastReceivedAt: store.lastReceivedAt,
      quality: store.latestQuality,
      revision,
    };
  }, [store, revision]);

  if (twin.isError) {
    return (
      <section className="panel twin" aria-label={`Machine ${machineId}`}>
        <PanelHeader title={machineId} onClose={onClose} />
        <ErrorNotice error={twin.error} context={`Could not load ${machineId}`} />
      </section>
    );
  }

  const info = twin.data;
  const lastSeen = Math.max(view.lastReceivedAt, info ? parseTime(info.last_seen) : Number.NaN);
  const silentFor = now - lastSeen;
  const live = connection.state === 'live';
  const stale = !Number.isFinite(silentFor) || silentFor > STALE_AFTER_MS;
  const place = info ? [info.site, info.line].filter(Boolean).join(' / ') : '';

  let statusText: string;
  let statusClass: string;
  if (!live) {
    statusText = `Not live (${connection.state}): the chart is paused.`;
    statusClass = 'chart-status--paused';
  } else if (info && stale) {
    statusText = `No new data for ${formatAge(silentFor)}.`;
    statusClass = 'chart-status--stale';
  } else {
    statusText = 'Live.';
    statusClass = 'chart-status--live';
  }

  return (
    <section className="panel twin" aria-label={`Machine ${machineId}`}>
      <PanelHeader title={machineId} onClose={onClose}>
        {info ? (
          <span className="twin__meta">
            {formatMachineType(info.machine_type)}
            {place ? ` · ${place}` : ''} <QualityBadge quality={view.quality ?? info.quality} />
          </span>
        ) : null}
      </PanelHeader>

      <p className={`chart-status ${statusClass}`} role="status" aria-label="Chart status">
        <span>{statusText}</span>{' '}
        <span>
          <span className="chart-status__points">{view.points.toLocaleString('en-US')}</span> points
        </span>
        {' · '}
        <span>
          latest sample{' '}
          <time className="chart-status__latest">
            {Number.isFinite(view.latestTime) ? `${formatClock(view.latestTime)} UTC` : '—'}
          </time>
        </span>
      </p>

      {twin.isPending ? <p className="muted">Loading machine…</p> : null}
      {history.isError ? (
        <ErrorNotice error={history.error} context="Could not load history" />
      ) : null}

      {view.sensors.length > 0 ? (
        <>
          <LatestValues sensors={view.sensors} values={view.latest} />
          <div className={`chart ${live ? '' : 'chart--paused'}`}>
            <Suspense fallback={<p className="muted">Loading chart…</p>}>
              <SensorChart
                machineId={machineId}
                sensors={view.sensors}
                series={view.series}
                revision={view.revision}
                paused={!live}
              />
            </Suspense>
          </div>
        </>
      ) : history.isSuccess ? (
        <p className="muted">No readings yet; waiting for live data…</p>
      ) : history.isFetching ? (
        <p className="muted">Loading history…</p>
      ) : null}
    </section>
  );
}

function PanelHeader({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children?: ReactNode;
}) {
  return (
    <div className="panel__header">
      <h2>{title}</h2>
      {children}
      <button type="button" className="button-quiet" onClick={onClose} aria-label="Close machine">
        ×
      </button>
    </div>
  );
}
