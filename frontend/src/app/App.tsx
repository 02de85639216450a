// The dashboard: header (views with the unacknowledged alarm count, connection, who is signed in), the
// fleet, the anomaly list, the alarms or the data quality on the left, the selected machine on the
// right (the alarms, the data quality, energy and reports take the whole width while no machine is
// selected). Selection and view live in the URL (?view=,
// ?machine=, ?tab=, ?section=).
import { UserMenu } from '../auth/UserMenu';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { AlertsPanel } from '../features/alerts/components/AlertsPanel';
import { useAlerts } from '../features/alerts/hooks/useAlerts';
import { openMachines } from '../features/alerts/alertsStore';
import { AlarmNavItem } from '../features/alarms/components/AlarmNavItem';
import { AlarmsPage } from '../features/alarms/components/AlarmsPage';
import { useAlarmFeed } from '../features/alarms/hooks/useAlarmFeed';
import { FleetPanel } from '../features/fleet/components/FleetPanel';
import { DataQualityPage } from '../features/quality/components/DataQualityPage';
import { EnergyPage } from '../features/energy/components/EnergyPage';
import { ReportsPage } from '../features/reports/components/ReportsPage';
import { TwinPanel } from '../features/twin/components/TwinPanel';
import { useSearchParam } from '../hooks/useSearchParam';

export function App() {
  const [machineId, setMachineId] = useSearchParam('machine');
  const [view, setView] = useSearchParam('view');
  const alerts = useAlerts();
  const alarms = useAlarmFeed();
  const openCount = openMachines(alerts.events).size;
  const showAlerts = view === 'alerts';
  const showAlarms = view === 'alarms';
  const showQuality = view === 'quality';
  const showEnergy = view === 'energy';
  const showReports = view === 'reports';
  const wide = showAlarms || showQuality || showEnergy || showReports;
  return (
    <div className="app">
      <header className="app__header">
        <h1>
          dtwin <span className="app__subtitle">— plant digital twin</span>
        </h1>
        <nav className="nav" aria-label="Views">
          <button
            type="button"
            className="nav__item"
            aria-current={showAlerts || wide ? undefined : 'page'}
            onClick={() => setView(null)}
          >
            Fleet
          </button>
          <button
            type="button"
            className="nav__item"
            aria-current={showAlerts ? 'page' : undefined}
            onClick={() => setView('alerts')}
          >
            Anomalies
            {openCount > 0 ? (
              <span className="nav__count" aria-label={`${openCount} open`}>
                {openCount}
              </span>
            ) : null}
          </button>
          <AlarmNavItem feed={alarms} current={showAlarms} onOpen={() => setView('alarms')} />
          <button
            type="button"
            className="nav__item"
            aria-current={showQuality ? 'page' : undefined}
            onClick={() => setView('quality')}
          >
            Data quality
          </button>
          <button
            type="button"
            className="nav__item"
            aria-current={showEnergy ? 'page' : undefined}
            onClick={() => setView('energy')}
          >
            Energy
          </button>
          <button
            type="button"
            className="nav__item"
            aria-current={showReports ? 'page' : undefined}
            onClick={() => setView('reports')}
          >
            Reports
          </button>
        </nav>
        <ConnectionBadge />
        <UserMenu />
      </header>
      <main className={`app__main${wide && !machineId ? ' app__main--wide' : ''}`}>
        {showEnergy ? (
          <EnergyPage />
        ) : showReports ? (
          <ReportsPage />
        ) : showQuality ? (
          <DataQualityPage selectedMachine={machineId} onOpenMachine={setMachineId} />
        ) : showAlarms ? (
          <AlarmsPage feed={alarms} selectedMachine={machineId} onOpenMachine={setMachineId} />
        ) : showAlerts ? (
          <AlertsPanel alerts={alerts} selectedId={machineId} onSelect={setMachineId} />
        ) : (
          <FleetPanel selectedId={machineId} onSelect={setMachineId} />
        )}
        {machineId ? (
          <TwinPanel machineId={machineId} onClose={() => setMachineId(null)} />
        ) : wide ? null : (
          <section className="panel twin twin--empty" aria-label="No machine selected">
            <p className="muted">Select a machine to see its live readings.</p>
          </section>
        )}
      </main>
    </div>
  );
}
