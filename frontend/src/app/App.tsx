// The dashboard: header (views, connection, who is signed in), the fleet or the anomaly list on the left, the
// selected machine on the right. Selection and view live in the URL (?view=, ?machine=, ?tab=).
import { UserMenu } from '../auth/UserMenu';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { AlertsPanel } from '../features/alerts/components/AlertsPanel';
import { useAlerts } from '../features/alerts/hooks/useAlerts';
import { openMachines } from '../features/alerts/alertsStore';
import { FleetPanel } from '../features/fleet/components/FleetPanel';
import { TwinPanel } from '../features/twin/components/TwinPanel';
import { useSearchParam } from '../hooks/useSearchParam';

export function App() {
  const [machineId, setMachineId] = useSearchParam('machine');
  const [view, setView] = useSearchParam('view');
  const alerts = useAlerts();
  const openCount = openMachines(alerts.events).size;
  const showAlerts = view === 'alerts';
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
            aria-current={showAlerts ? undefined : 'page'}
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
        </nav>
        <ConnectionBadge />
        <UserMenu />
      </header>
      <main className="app__main">
        {showAlerts ? (
          <AlertsPanel alerts={alerts} selectedId={machineId} onSelect={setMachineId} />
        ) : (
          <FleetPanel selectedId={machineId} onSelect={setMachineId} />
        )}
        {machineId ? (
          <TwinPanel machineId={machineId} onClose={() => setMachineId(null)} />
        ) : (
          <section className="panel twin twin--empty" aria-label="No machine selected">
            <p className="muted">Select a machine to see its live readings.</p>
          </section>
        )}
      </main>
    </div>
  );
}
