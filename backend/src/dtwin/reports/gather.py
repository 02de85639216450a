"""The content of each report kind, gathered through the rooms' services (twins, analytics, alarms, data
quality; energy.py: energy and forecast): never their tables. kinds.py maps a kind to its gatherer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.alarms.service import AlarmService
from dtwin.anomalies.service import AnomalyHistory, LiveAnalytics
from dtwin.config import Settings
from dtwin.contracts.alarms import PRIORITIES
from dtwin.data_quality.cleanse import RULES
from dtwin.data_quality.deps import get_data_quality_service
from dtwin.forecast.service import Forecaster
from dtwin.readings.history import ArchiveIndex
from dtwin.reports.content import Cell, Chart, Figure, ReportContent, Table
from dtwin.reports.schemas import ReportSpec
from dtwin.twins.service import TwinService

OPEN_COMMANDS = frozenset({"pending", "undelivered", "awaiting_placement"})
ALARM_PAGE = 500
EVENTS_PER_MACHINE = 10_000


@dataclass
class Sources:
    """What the gatherers read, for one run: the rooms' services over one database session."""

    session: AsyncSession
    twins: TwinService
    live: LiveAnalytics
    settings: Settings
    top: int = 20
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    archive: ArchiveIndex | None = None  # archived days, read where a history spans them
    forecaster: Forecaster | None = None  # the process's (a process pool); None: fitted in a thread


Gatherer = Callable[[Sources, ReportSpec, datetime, datetime], Awaitable[ReportContent]]

TITLES = {
    "maintenance": "Maintenance report",
    "data_quality": "Data quality report",
    "energy": "Energy report",
}


def content_of(src: Sources, spec: ReportSpec, start: datetime, end: datetime) -> ReportContent:
    return ReportContent(
        title=f"{TITLES.get(spec.kind, spec.kind)}: {spec.name}",
        kind=spec.kind,
        scope=spec.scope,
        site=spec.site,
        start=start,
        end=end,
        tz=src.settings.plant_tz,
        generated_at=src.clock(),
        has_data=False,
    )


async def _machines(src: Sources, spec: ReportSpec) -> list[dict[str, Any]]:
    twins = [dict(t) for t in await src.twins.fleet()]
    twins = [t for t in twins if spec.scope == "fleet" or t.get("site") == spec.site]
    twins.sort(key=lambda t: str(t["id"]))
    return src.twins.with_status_many(twins, src.clock())


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600.0, 2)


async def _alarms_in(
    service: AlarmService, start: datetime, end: datetime, site: str | None
) -> list[tuple[str, str]]:
    """(priority, state) of every alarm raised in [start, end), newest pages first until one is all older."""
    found: list[tuple[str, str]] = []
    cursor: int | None = None
    while True:
        page = await service.page(
            limit=ALARM_PAGE,
            cursor=cursor,
            states=None,
            priorities=None,
            machine_id=None,
            machine_type=None,
            site=site,
            line=None,
            source=None,
            hidden=None,
        )
        found += [(a.priority, a.state) for a in page.items if start <= a.raised_at < end]
        if page.next_cursor is None or all(a.raised_at < start for a in page.items):
            return found
        cursor = page.next_cursor


async def maintenance(src: Sources, spec: ReportSpec, start: datetime, end: datetime) -> ReportContent:
    """Health now (per status, mean and lowest, machines below 50), the RUL ranking now, alarms raised in
    the period by priority and the most frequent ones, anomaly events in the period per machine, and the
    machines whose desired state the device has not confirmed (open commands)."""
    c = content_of(src, spec, start, end)
    twins = await _machines(src, spec)
    site = spec.site if spec.scope == "site" else None

    # health and RUL (the analytics the scoring stage last wrote)
    statuses = Counter(str(t.get("status")) for t in twins)
    healths = [float(t["health"]) for t in twins if t.get("health") is not None]
    ranking: list[list[Cell]] = []
    for t in twins:
        h = await src.live.health(str(t["id"]))
        rul = h.rul or {}
        if rul.get("seconds") is not None:
            ranking.append(
                [
                    str(t["id"]),
                    t.get("site"),
                    None if h.health is None else round(float(h.health), 1),
                    _hours(rul.get("seconds")),
                    _hours(rul.get("lower_s")),
                    _hours(rul.get("upper_s")),
                    h.strategy,
                ]
            )
    ranking.sort(key=lambda r: (r[3] if isinstance(r[3], float) else float("inf"), str(r[0])))

    # alarms in the period (the alarms room's service and its reports)
    alarms = AlarmService(src.session, clock=lambda: end)
    raised = await _alarms_in(alarms, start, end, site)
    by_priority = Counter(p for p, _ in raised)
    still_open = Counter(p for p, s in raised if s != "normal")
    report = await alarms.reports((end - start).total_seconds() / 3600.0, site)

    # anomaly events in the period
    history = AnomalyHistory(src.session)
    events: list[list[Cell]] = []
    event_total = 0
    for t in twins:
        found = await history.events(str(t["id"]), start=start, end=end, limit=EVENTS_PER_MACHINE)
        found = [e for e in found if e.ts < end]
        if found:
            event_total += len(found)
            events.append(
                [
                    str(t["id"]),
                    len(found),
                    round(max(e.peak_score for e in found), 3),
                    max(e.ts for e in found).isoformat(),
                ]
            )
    events.sort(key=lambda r: (-int(r[1] or 0), str(r[0])))

    commands: list[list[Cell]] = []
    for t in twins:
        cmd = t.get("command") or {}
        delta = t.get("delta") or {}
        if cmd.get("status") in OPEN_COMMANDS or delta:
            commands.append(
                [
                    str(t["id"]),
                    t.get("site"),
                    t.get("desired_version"),
                    cmd.get("status"),
                    ", ".join(sorted(delta)),
                ]
            )

    c.figures = [
        Figure(label="Machines", value=len(twins)),
        Figure(label="Online", value=statuses.get("online", 0)),
        Figure(label="Stale", value=statuses.get("stale", 0)),
        Figure(label="Offline", value=statuses.get("offline", 0)),
        Figure(label="Mean health", value=round(sum(healths) / len(healths), 2) if healths else "n/a"),
        Figure(label="Lowest health", value=round(min(healths), 2) if healths else "n/a"),
        Figure(label="Machines below health 50", value=sum(1 for h in healths if h < 50)),
        Figure(label="Machines with RUL", value=len(ranking)),
        Figure(label="Alarms raised", value=len(raised)),
        *[Figure(label=f"Alarms raised {p}", value=by_priority.get(p, 0)) for p in PRIORITIES],
        Figure(label="Anomaly events", value=event_total),
        Figure(label="Open commands", value=len(commands)),
    ]
    c.tables = [
        Table(
            title="RUL ranking (now, shortest first)",
            columns=["machine", "site", "health", "RUL h", "RUL low h", "RUL high h", "strategy"],
            rows=ranking[: src.top],
            note=f"top {min(src.top, len(ranking))} of {len(ranking)}" if ranking else None,
        ),
        Table(
            title="Alarms raised by priority",
            columns=["priority", "raised", "still open"],
            rows=[[p, by_priority.get(p, 0), still_open.get(p, 0)] for p in PRIORITIES],
        ),
        Table(
            title="Most frequent alarms",
            columns=["machine", "condition", "count"],
            rows=[[f.machine_id, f.condition, f.count] for f in report.frequent],
        ),
        Table(
            title="Anomaly events per machine",
            columns=["machine", "events", "peak score", "last"],
            rows=events[: src.top],
            note=f"top {min(src.top, len(events))} of {len(events)} machines" if events else None,
        ),
        Table(
            title="Open commands (desired state not confirmed)",
            columns=["machine", "site", "desired version", "command", "not reported"],
            rows=commands[: src.top * 5],
        ),
    ]
    c.charts = [
        Chart(
            title="Alarms raised by priority",
            labels=list(PRIORITIES),
            values=[float(by_priority.get(p, 0)) for p in PRIORITIES],
            xlabel="alarms",
        ),
        Chart(
            title="Shortest remaining useful life (hours)",
            labels=[str(r[0]) for r in ranking[: src.top]],
            values=[float(r[3]) for r in ranking[: src.top] if isinstance(r[3], float)],
            xlabel="hours",
            horizontal=True,
        ),
    ]
    c.has_data = bool(twins) or bool(raised) or event_total > 0
    return c


async def data_quality(src: Sources, spec: ReportSpec, start: datetime, end: datetime) -> ReportContent:
    """Counts per cleansing rule, the machines with the most issues, gaps and off clocks (the data-quality
    room's service: its fleet summary, or each of the site's machines)."""
    c = content_of(src, spec, start, end)
    service = get_data_quality_service(src.session, src.settings)
    counts: dict[str, int] = dict.fromkeys(RULES, 0)
    worst: list[tuple[str, int, dict[str, int]]] = []
    clocks: list[list[Cell]] = []
    if spec.scope == "fleet":
        s = await service.summary(start, end, src.top)
        counts = {k: int(v or 0) for k, v in s.counts.model_dump().items()}
        worst = [
            (m.machine_id, m.total, {k: int(v or 0) for k, v in m.counts.model_dump().items()})
            for m in s.top_machines
        ]
        affected, gaps, gap_seconds = s.machines_affected, s.gaps, s.gap_seconds
        clocks = [[o.machine_id, round(o.offset_s, 3), o.samples] for o in s.clock_offsets]
    else:
        affected, gaps, gap_seconds = 0, 0, 0.0
        for t in await _machines(src, spec):
            m = await service.machine(str(t["id"]), start, end, limit=1)
            per = {k: int(v or 0) for k, v in m.counts.model_dump().items()}
            for k, v in per.items():
                counts[k] = counts.get(k, 0) + v
            total = sum(per.values())
            if total:
                affected += 1
                worst.append((m.machine_id, total, per))
            gaps += m.gap_count
            gap_seconds += m.gap_seconds
            if m.clock_offset is not None and m.clock_offset.beyond_threshold:
                clocks.append([m.machine_id, round(m.clock_offset.offset_s, 3), m.clock_offset.samples])
        worst.sort(key=lambda w: (-w[1], w[0]))
        worst = worst[: src.top]
    issues = sum(counts.values())
    c.figures = [
        Figure(label="Issues", value=issues),
        *[Figure(label=f"Rule {rule}", value=counts.get(rule, 0)) for rule in RULES],
        Figure(label="Machines affected", value=affected),
        Figure(label="Gaps", value=gaps),
        Figure(label="Gap hours", value=round(gap_seconds / 3600.0, 2)),
        Figure(label="Clocks off", value=len(clocks)),
    ]
    c.tables = [
        Table(
            title="Issues per rule", columns=["rule", "count"], rows=[[r, counts.get(r, 0)] for r in RULES]
        ),
        Table(
            title="Machines with the most issues",
            columns=["machine", "total", *RULES],
            rows=[[m, total, *[per.get(r, 0) for r in RULES]] for m, total, per in worst],
        ),
        Table(title="Device clocks off now", columns=["machine", "offset s", "samples"], rows=clocks),
    ]
    c.charts = [
        Chart(
            title="Issues per rule",
            labels=list(RULES),
            values=[float(counts.get(r, 0)) for r in RULES],
            xlabel="count",
        ),
        Chart(
            title="Machines with the most issues",
            labels=[m for m, _, _ in worst],
            values=[float(total) for _, total, _ in worst],
            xlabel="issues",
            horizontal=True,
        ),
    ]
    c.has_data = issues > 0 or gaps > 0 or bool(clocks)
    return c
