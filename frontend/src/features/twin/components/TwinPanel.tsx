// Machine detail: header with status, and tabs for the live view, correlations, decisions and the
// data quality of what the machine sent.
import type { ReactNode } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { StatusBadge } from '../../../components/StatusBadge';
import { useSearchParam } from '../../../hooks/useSearchParam';
import { formatMachineType } from '../../../lib/format';
import { CorrelationsTab } from './CorrelationsTab';
import { DataQualityTab } from './DataQualityTab';
import { DecisionsTab } from './DecisionsTab';
import { LiveTab } from './LiveTab';
import { useLiveTwin } from '../hooks/useLiveTwin';

interface TwinPanelProps {
  machineId: string;
  onClose: () => void;
}

const TABS = [
  { key: 'live', label: 'Live' },
  { key: 'correlations', label: 'Correlations' },
  { key: 'decisions', label: 'Decisions' },
  { key: 'quality', label: 'Data quality' },
] as const;

export function TwinPanel({ machineId, onClose }: TwinPanelProps) {
  // A new machine gets fresh buffers, a fresh subscription and fresh history.
  return <TwinView key={machineId} machineId={machineId} onClose={onClose} />;
}

function TwinView({ machineId, onClose }: TwinPanelProps) {
  const live = useLiveTwin(machineId);
  const [tabParam, setTab] = useSearchParam('tab');
  const tab = TABS.find((t) => t.key === tabParam)?.key ?? 'live';
  const twin = live.twin;

  if (twin.isError) {
    return (
      <section className="panel twin" aria-label={`Machine ${machineId}`}>
        <PanelHeader title={machineId} onClose={onClose} />
        <ErrorNotice error={twin.error} context={`Could not load ${machineId}`} />
      </section>
    );
  }
  const info = twin.data;
  const place = info ? [info.site, info.line].filter(Boolean).join(' / ') : '';
  return (
    <section className="panel twin" aria-label={`Machine ${machineId}`}>
      <PanelHeader title={machineId} onClose={onClose}>
        {info ? (
          <span className="twin__meta">
            <StatusBadge status={info.status} />
            <span>{formatMachineType(info.machine_type)}</span>
            {place ? <span className="muted">{place}</span> : null}
          </span>
        ) : null}
      </PanelHeader>
      <div className="tabs" role="tablist" aria-label="Machine views">
        {TABS.map((t) => (
          <button
            key={t.key}
            type="button"
            role="tab"
            id={`tab-${t.key}`}
            aria-selected={tab === t.key}
            aria-controls={`tabpanel-${t.key}`}
            className="tabs__tab"
            onClick={() => setTab(t.key === 'live' ? null : t.key)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        className="twin__body"
        role="tabpanel"
        id={`tabpanel-${tab}`}
        aria-labelledby={`tab-${tab}`}
      >
        {twin.isPending ? <p className="muted">Loading machine…</p> : null}
        {/* The views ask for the machine's analytics only once the machine is known to exist. */}
        {info && tab === 'live' ? <LiveTab machineId={machineId} live={live} /> : null}
        {info && tab === 'correlations' ? <CorrelationsTab machineId={machineId} /> : null}
        {info && tab === 'decisions' ? <DecisionsTab machineId={machineId} /> : null}
        {info && tab === 'quality' ? <DataQualityTab machineId={machineId} /> : null}
      </div>
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
