// The header's way to the alarms view, with the count of unacknowledged alarms (the summary's,
// moved live by the stream), coloured by the most urgent priority waiting.
import { PRIORITIES } from '../../../lib/alarms';
import type { AlarmFeed } from '../hooks/useAlarmFeed';

interface AlarmNavItemProps {
  feed: AlarmFeed;
  current: boolean;
  onOpen: () => void;
}

export function AlarmNavItem({ feed, current, onOpen }: AlarmNavItemProps) {
  const count = feed.unacknowledged;
  const byPriority = feed.summary?.by_priority ?? {};
  const top = PRIORITIES.find((p) => (byPriority[p] ?? 0) > 0) ?? 'high';
  const label = count === null ? 'Alarms' : `Alarms, ${count} unacknowledged`;
  return (
    <button
      type="button"
      className="nav__item"
      aria-current={current ? 'page' : undefined}
      aria-label={label}
      title={feed.live ? undefined : 'Alarm counts are polled: the live stream is not available'}
      onClick={onOpen}
    >
      Alarms
      {count !== null ? (
        <span
          className={`nav__count nav__count--alarms nav__count--${count > 0 ? top : 'none'}`}
          aria-hidden="true"
        >
          {count}
        </span>
      ) : null}
    </button>
  );
}
