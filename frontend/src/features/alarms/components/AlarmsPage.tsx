// The alarms view: the counts of the moment, and three sections: the alarm list, the threshold
// rules (edited by admins), and the flood / chattering figures. The section is in the URL
// (`?section=rules`, `?section=reports`).
import { useSearchParam } from '../../../hooks/useSearchParam';
import type { AlarmFeed } from '../hooks/useAlarmFeed';
import { AlarmList } from './AlarmList';
import { ReportsPanel } from './ReportsPanel';
import { RulesPanel } from './RulesPanel';

const SECTIONS = [
  { key: 'list', label: 'Alarms' },
  { key: 'rules', label: 'Rules' },
  { key: 'reports', label: 'Flood & chattering' },
] as const;

interface AlarmsPageProps {
  feed: AlarmFeed;
  selectedMachine: string | null;
  onOpenMachine: (machineId: string) => void;
}

function Figure({ label, value, tone }: { label: string; value: number | null; tone?: string }) {
  return (
    <div className={`summary__item alarm-figure${tone && value ? ` alarm-figure--${tone}` : ''}`}>
      <span className="summary__label">{label}</span>
      <span className="summary__value">{value ?? '—'}</span>
    </div>
  );
}

export function AlarmsPage({ feed, selectedMachine, onOpenMachine }: AlarmsPageProps) {
  const [sectionParam, setSection] = useSearchParam('section');
  const section = SECTIONS.find((s) => s.key === sectionParam)?.key ?? 'list';
  const summary = feed.summary;
  return (
    <section className="panel alarms" aria-labelledby="alarms-heading">
      <div className="panel__header">
        <h2 id="alarms-heading">Alarms</h2>
        <div className="summary alarm-summary" aria-label="Alarm counts">
          <Figure label="Unacknowledged" value={feed.unacknowledged} tone="bad" />
          <Figure label="Active" value={summary?.active ?? null} />
          <Figure label="Shelved" value={summary?.shelved ?? null} />
          <Figure label="Suppressed" value={summary?.suppressed ?? null} />
        </div>
      </div>
      <div className="tabs" role="tablist" aria-label="Alarm views">
        {SECTIONS.map((s) => (
          <button
            key={s.key}
            type="button"
            role="tab"
            id={`alarm-tab-${s.key}`}
            aria-selected={section === s.key}
            aria-controls={`alarm-tabpanel-${s.key}`}
            className="tabs__tab"
            onClick={() => setSection(s.key === 'list' ? null : s.key)}
          >
            {s.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`alarm-tabpanel-${section}`}
        aria-labelledby={`alarm-tab-${section}`}
      >
        {section === 'list' ? (
          <AlarmList feed={feed} onOpenMachine={onOpenMachine} selectedMachine={selectedMachine} />
        ) : null}
        {section === 'rules' ? <RulesPanel /> : null}
        {section === 'reports' ? <ReportsPanel /> : null}
      </div>
    </section>
  );
}
