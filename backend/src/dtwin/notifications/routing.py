"""Who hears about an alarm notice, and when: routing rules as plain values (no database), quiet hours and
the escalation plan. Pure functions of a notice, the rules and the current time, so they are tested
without a database or a clock.

The rules, in order:
- A notice whose alarm is hidden (shelved or suppressed) goes to nobody, except the transitions that hide
  or show it; it still cancels escalations.
- A rule *covers* a notice when the notice's priority is at least the rule's `min_priority` and its site,
  line and machine type are in the rule's lists (a list left out matches everything).
- The covering rules fall into tiers. The lowest tier present is the *first tier*: its rules hear every
  transition they name, at once.
- A `raised` notice also plans the escalation: tier by tier upwards, each next tier's rules (those naming
  `raised`) are due at `raised_at` plus the sum of the delays so far, where the delay after a tier is the
  smallest `escalate_after_s` among that tier's covering rules; a tier without one ends the chain. An
  acknowledgement (or closing, shelving, suppression, out of service) cancels what has not gone out.
- Other transitions reach a higher tier's rules only if the alarm already escalated to them.
- Quiet hours hold a non-critical message until the rule's quiet period ends; critical ones go out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from dtwin.contracts.alarms import AlarmNotice, priority_rank
from dtwin.notifications.models import NotificationRouteRow
from dtwin.notifications.schemas import Kind

Clock = Callable[[], datetime]

# transitions after which an alarm needs nobody's attention any more: its escalations are cancelled
CANCELS_ESCALATION = frozenset({"acknowledged", "closed", "shelved", "suppressed", "out_of_service"})
# transitions that hide or show an alarm: the only ones delivered while it is shelved or suppressed
VISIBILITY = frozenset({"shelved", "unshelved", "suppressed", "unsuppressed", "out_of_service", "in_service"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(value: str) -> datetime | None:
    """An ISO-8601 instant of a notice (`Z` or an offset; a naive one is taken as UTC); None if it is not
    one (a notice is never refused: that would fail the alarm transition that carries it)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_clock_time(value: str) -> time:
    """ "HH:MM" (24 h) -> time; ValueError otherwise."""
    hours, _, minutes = value.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{value!r} is not a time of day as HH:MM")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    """A daily quiet period in a time zone's local time, from `start` (inclusive) to `end` (exclusive);
    `start` > `end` spans midnight (22:00-06:00)."""

    start: time
    end: time
    zone: ZoneInfo

    def active(self, at: datetime) -> bool:
        now = at.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def release(self, at: datetime) -> datetime:
        """`at` outside the quiet period, else the instant (UTC) the period ends."""
        if not self.active(at):
            return at
        local = at.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        # wall-clock end in the zone (a DST change in between is the zone's business), as UTC
        return end.astimezone(UTC)


@dataclass(frozen=True)
class Rule:
    """A routing rule as the planner sees it (a NotificationRouteRow without its secret and templates)."""

    id: int
    name: str
    channel: str
    targets: tuple[str, ...]
    min_priority: str = "low"
    sites: frozenset[str] | None = None
    lines: frozenset[str] | None = None
    machine_types: frozenset[str] | None = None
    transitions: frozenset[str] = frozenset({"raised"})
    quiet: QuietHours | None = None
    tier: int = 1
    escalate_after_s: int | None = None

    @classmethod
    def from_row(cls, row: NotificationRouteRow) -> Rule:
        quiet = None
        if row.quiet_start and row.quiet_end:
            quiet = QuietHours(
                parse_clock_time(row.quiet_start), parse_clock_time(row.quiet_end), ZoneInfo(row.timezone)
            )
        return cls(
            id=row.id,
            name=row.name,
            channel=row.channel,
            targets=tuple(row.targets),
            min_priority=row.min_priority,
            sites=_set(row.sites),
            lines=_set(row.lines),
            machine_types=_set(row.machine_types),
            transitions=frozenset(row.transitions),
            quiet=quiet,
            tier=row.tier,
            escalate_after_s=row.escalate_after_s,
        )

    def covers(self, notice: AlarmNotice) -> bool:
        """Priority at least `min_priority`, and placement within the rule's lists."""
        return (
            priority_rank(notice.priority) <= priority_rank(self.min_priority)
            and _within(notice.site, self.sites)
            and _within(notice.line, self.lines)
            and _within(notice.machine_type, self.machine_types)
        )

    def due(self, at: datetime, priority: str | None) -> datetime:
        """When a message of `priority` meant for `at` may go out: critical ones at once, others after
        the quiet hours."""
        if self.quiet is None or priority == "critical":
            return at
        return self.quiet.release(at)


def _set(values: Sequence[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values else None


def _within(value: str | None, allowed: frozenset[str] | None) -> bool:
    return allowed is None or (value is not None and value in allowed)


@dataclass(frozen=True)
class Planned:
    """One message to plan: the rule, the kind (notice or escalation), its tier and when it is due."""

    rule: Rule
    kind: Kind
    tier: int
    due: datetime


def hidden(notice: AlarmNotice) -> bool:
    """A shelved or suppressed alarm is hidden from notifications, but for the transitions about that."""
    return (notice.shelved or notice.suppressed) and notice.transition not in VISIBILITY


def plan(
    notice: AlarmNotice, rules: Iterable[Rule], now: datetime, escalated: frozenset[int] = frozenset()
) -> list[Planned]:
    """The messages a notice makes (see the module's rules). `escalated`: ids of the rules the alarm
    has already escalated to (what the outbox holds); only non-`raised` notices need it."""
    if hidden(notice):
        return []
    covering = [r for r in rules if r.covers(notice)]
    if not covering:
        return []
    tiers = sorted({r.tier for r in covering})
    first = tiers[0]
    out = [
        Planned(r, "notice", r.tier, r.due(now, notice.priority))
        for r in covering
        if notice.transition in r.transitions and (r.tier == first or r.id in escalated)
    ]
    if notice.transition != "raised":
        return out
    raised_at = parse_instant(notice.raised_at) or parse_instant(notice.ts) or now
    offset = 0
    for previous, tier in pairwise(tiers):
        delays = [r.escalate_after_s for r in covering if r.tier == previous and r.escalate_after_s]
        if not delays:
            break
        offset += min(delays)
        at = raised_at + timedelta(seconds=offset)
        out += [
            Planned(r, "escalation", tier, r.due(at, notice.priority))
            for r in covering
            if r.tier == tier and "raised" in r.transitions
        ]
    return out


def needs_escalated(notice: AlarmNotice, rules: Iterable[Rule]) -> bool:
    """Whether planning `notice` depends on which rules the alarm escalated to (worth a query)."""
    if notice.transition == "raised" or hidden(notice):
        return False
    covering = [r for r in rules if r.covers(notice)]
    return len({r.tier for r in covering}) > 1
