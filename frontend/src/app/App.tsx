// The dashboard page: header with connection state, fleet table, selected machine.
import { ConnectionBadge } from '../components/ConnectionBadge';
import { FleetPanel } from '../features/fleet/components/FleetPanel';
import { TwinPanel } from '../features/twin/components/TwinPanel';
import { useSearchParam } from '../hooks/useSearchParam';
import { useResyncOnReconnect } from '../realtime/useTwinStream';

export function App() {
  const [machineId, setMachineId] = useSearchParam('machine');
  useResyncOnReconnect();
  return (
    <div className="app">
      <header className="app__header">
        <h1>
          dtwin <span className="app__subtitle">— plant digital twin</span>
        </h1>
        <ConnectionBadge />
      </header>
      <main className="app__main">
        <FleetPanel selectedId={machineId} onSelect={setMachineId} />
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
