"""The alarms stage of the telemetry consumer: threshold rules on every batch (vectorised, `thresholds.py`),
anomaly episodes from scoring, and the background work (rules refresh, shelving expiry, suppression by
design).

Ownership: a machine's telemetry is consumed by the process that owns its Kafka partition, so one process
evaluates it; the partial unique index on open alarms makes a second raise (a rebalance, a redelivered batch)
a no-op. A process seeing a machine for the first time loads its open threshold alarms, so their return to
normal clears them. Transitions the database could not take (an outage) wait in memory, in order, bounded,
and go with the next batch."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.repository import AlarmRepository
from dtwin.alarms.service import AlarmService, Clear, Raise
from dtwin.alarms.thresholds import Crossing, Rule, ThresholdEvaluator
from dtwin.contracts.alarms import NoticeOutbox
from dtwin.contracts.changes import (
    AlarmChange,
    AnomalyEventChange,
    ChangeMessage,
    StatusChange,
    TwinsMessage,
    WholeTwinChange,
)
from dtwin.contracts.telemetry import Telemetry
from dtwin.core.change_stream import ChangeStream
from dtwin.core.metrics import Metrics
from dtwin.kit.deadline import Deadline
from dtwin.kit.failures import describe

log = structlog.get_logger(__name__)

Placement = tuple[str | None, str | None, str | None]  # machine type, site, line
SUPPRESSING_MODES = frozenset({"off", "maintenance"})  # desired `mode` values that suppress by design
MAX_WAITING = 10_000  # transitions kept while the database is out


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def threshold_message(c: Crossing) -> str:
    r = c.rule
    where = "above" if r.kind in ("hi", "hihi") else "below"
    return f"{r.sensor} {c.value:.6g} {where} {r.kind} {r.threshold:.6g} ({c.machine_id})"


def anomaly_priority(score: float) -> str:
    return "high" if score >= 0.95 else "medium"


class AlarmStage:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        outbox: NoticeOutbox | None = None,
        changes: ChangeStream | None = None,
        anomaly_score: float = 0.8,
        rul_hours: float = 24.0,
        dead_letters_per_min: float = 100.0,
        rules_refresh_s: float = 5.0,
        db_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics: Metrics | None = None  # alarms raised by priority (set by the app)
        self.sessions = sessions
        self.outbox = outbox
        self.changes = changes
        self.anomaly_score = anomaly_score
        self.rul_s = rul_hours * 3600.0
        self.dead_letters_per_min = dead_letters_per_min
        self._rul_low: set[str] = set()  # machines with a maintenance alarm for their remaining life
        self._rejections: list[tuple[float, int]] = []  # (monotonic time, dead letters) of recent batches
        self._dlq_alarm = False
        self._from_feed: list[Raise | Clear] = []  # offline/online transitions heard on the change feed
        self.rules_refresh_s = rules_refresh_s
        self.clock = clock
        self.evaluator = ThresholdEvaluator()
        self.db = Deadline(db_timeout_s, "database (alarms)")
        self._fingerprint: Any = None
        self._refreshed_at = -math.inf
        self._suppressed: set[str] = set()
        self._suppression_changes: dict[str, bool] = {}
        self._waiting: list[Raise | Clear] = []
        self.dropped = 0  # transitions dropped because the waiting list was full (logged)

    def is_suppressed(self, machine_id: str) -> bool:
        return machine_id in self._suppressed

    def service(self, session: AsyncSession) -> AlarmService:
        return AlarmService(session, outbox=self.outbox, changes=self.changes, suppressed=self.is_suppressed)

    # ------------------------------------------------------------------ rules
    async def refresh_rules(self, force: bool = False) -> bool:
        """Reload the rules when any changed (checked every `rules_refresh_s`); True when reloaded."""
        now = self.clock()
        if not force and now - self._refreshed_at < self.rules_refresh_s:
            return False
        self._refreshed_at = now
        async with self.sessions() as session:
            repo = AlarmRepository(session)
            fingerprint = await repo.rules_fingerprint()
            if fingerprint == self._fingerprint and not force:
                return False
            rows = await repo.rules(enabled_only=True)
        before = {r.id for r in self.evaluator.rules}
        self.evaluator.set_rules(Rule.of(r.id, r) for r in rows)
        self._fingerprint = fingerprint
        removed = sorted(before - {r.id for r in rows})
        log.info("alarm_rules_loaded", rules=len(rows), removed=len(removed))
        if removed:
            async with self.sessions() as session:
                await self.service(session).clear_rules(removed, "rule deleted or disabled")
        return True

    # ------------------------------------------------------------------ the batch
    async def process(
        self,
        items: Sequence[Telemetry],
        placement: Mapping[str, Placement],
        anomalies: Sequence[AnomalyEventChange] = (),
        rul: Mapping[str, float] | None = None,
        rejected: int = 0,
    ) -> list[AlarmChange]:
        """Evaluate a stored batch (its threshold rules, the anomaly episodes scoring stored, the remaining
        useful life it estimated, the messages it dead-lettered); write the alarms it raises and clears (and
        any still waiting)."""
        await self.refresh_rules()
        new = self.evaluator.register(items)
        if new:
            async with self.sessions() as session:
                self.evaluator.restore(await AlarmRepository(session).open_conditions(new, "threshold"))
        todo: list[Raise | Clear] = []
        for c in self.evaluator.evaluate(items):
            if c.raised:
                mtype, site, line = placement.get(c.machine_id, (None, None, None))
                todo.append(
                    Raise(
                        machine_id=c.machine_id,
                        condition=c.rule.condition,
                        source="threshold",
                        priority=c.rule.priority,
                        ts=_when(c.ts),
                        message=threshold_message(c),
                        value=c.value,
                        rule_id=c.rule.id,
                        machine_type=mtype,
                        site=site,
                        line=line,
                        details={"rule": c.rule.name, "threshold": c.rule.threshold, "kind": c.rule.kind},
                    )
                )
            else:
                todo.append(Clear(c.machine_id, c.rule.condition, _when(c.ts), c.value))
        todo += self._from_anomalies(anomalies, placement)
        todo += self._from_rul(rul or {}, placement)
        todo += self._from_dead_letters(rejected)
        todo += self._from_feed
        self._from_feed = []
        return await self.write(todo)

    def _from_rul(self, rul: Mapping[str, float], placement: Mapping[str, Placement]) -> list[Raise | Clear]:
        """A maintenance alarm while the estimated remaining useful life is under the horizon; cleared once it
        is 1.5 times the horizon or more (or no longer estimated): hysteresis against a noisy estimate."""
        out: list[Raise | Clear] = []
        now = datetime.now(UTC)
        for machine_id, rul_s in rul.items():
            low = machine_id in self._rul_low
            if not low and rul_s < self.rul_s:
                self._rul_low.add(machine_id)
                mtype, site, line = placement.get(machine_id, (None, None, None))
                hours = rul_s / 3600.0
                out.append(
                    Raise(
                        machine_id=machine_id,
                        condition="rul",
                        source="rul",
                        priority="high" if rul_s < self.rul_s / 4 else "medium",
                        ts=now,
                        message=f"remaining useful life ~{hours:.1f} h on {machine_id}: plan maintenance",
                        value=round(hours, 2),
                        machine_type=mtype,
                        site=site,
                        line=line,
                        details={"rul_s": rul_s, "horizon_s": self.rul_s},
                    )
                )
            elif low and not rul_s < 1.5 * self.rul_s:
                self._rul_low.discard(machine_id)
                out.append(Clear(machine_id, "rul", now, None if math.isinf(rul_s) else rul_s / 3600.0))
        return out

    def _from_dead_letters(self, rejected: int) -> list[Raise | Clear]:
        """A system alarm while this process dead-letters more than `dead_letters_per_min` messages over the
        last minute; cleared below half of that."""
        now = self.clock()
        if rejected:
            self._rejections.append((now, rejected))
        self._rejections = [(t, n) for t, n in self._rejections if now - t <= 60.0]
        per_min = sum(n for _, n in self._rejections)
        ts = datetime.now(UTC)
        if not self._dlq_alarm and per_min > self.dead_letters_per_min:
            self._dlq_alarm = True
            return [
                Raise(
                    machine_id="system",
                    condition="dead_letters",
                    source="dead_letters",
                    priority="high",
                    ts=ts,
                    message=f"{per_min} telemetry messages dead-lettered in the last minute: check devices",
                    value=float(per_min),
                    details={"per_min": per_min, "threshold": self.dead_letters_per_min},
                )
            ]
        if self._dlq_alarm and per_min < self.dead_letters_per_min / 2:
            self._dlq_alarm = False
            return [Clear("system", "dead_letters", ts, float(per_min))]
        return []

    def _from_anomalies(
        self, events: Sequence[AnomalyEventChange], placement: Mapping[str, Placement]
    ) -> list[Raise | Clear]:
        out: list[Raise | Clear] = []
        for e in events:
            ts = datetime.fromisoformat(e.ts)
            if e.kind == "start" and e.peak_score >= self.anomaly_score:
                _, site, line = placement.get(e.machine_id, (None, None, None))
                top = ", ".join(str(x.get("sensor")) for x in e.explanation[:3]) or "-"
                out.append(
                    Raise(
                        machine_id=e.machine_id,
                        condition="anomaly",
                        source="anomaly",
                        priority=anomaly_priority(e.peak_score),
                        ts=ts,
                        message=f"anomaly score {e.peak_score:.2f} on {e.machine_id}: {top}",
                        value=e.peak_score,
                        machine_type=e.machine_type,
                        site=site,
                        line=line,
                        details={"event_id": e.id, "detector": e.detector, "explanation": e.explanation[:3]},
                    )
                )
            elif e.kind == "resolved":
                out.append(Clear(e.machine_id, "anomaly", ts, e.score))
        return out

    async def write(self, todo: list[Raise | Clear]) -> list[AlarmChange]:
        """Apply transitions in order, after those still waiting; on an infrastructure failure keep them
        (bounded) for the next call."""
        todo = self._waiting + todo
        self._waiting = []
        if not todo:
            return []
        try:
            changed = await self.db.run(self._apply(todo))
        except Exception as exc:
            keep = todo[-MAX_WAITING:]
            if len(todo) > len(keep):
                self.dropped += len(todo) - len(keep)
                log.error("alarm_transitions_dropped", dropped=len(todo) - len(keep), kept=len(keep))
            self._waiting = keep
            log.warning("alarms_waiting", transitions=len(keep), error=describe(exc))
            return []
        return changed

    async def _apply(self, todo: list[Raise | Clear]) -> list[AlarmChange]:
        """Raises and clears in one transaction, split where a clear follows a raise of the same alarm (so
        the order holds)."""
        changed: list[AlarmChange] = []
        raises: list[Raise] = []
        clears: list[Clear] = []
        cleared: set[tuple[str, str]] = set()
        for t in todo:
            if isinstance(t, Raise):
                if (t.machine_id, t.condition) in cleared:
                    changed += await self._apply_once(raises, clears)
                    raises, clears, cleared = [], [], set()
                raises.append(t)
            else:
                clears.append(t)
                cleared.add((t.machine_id, t.condition))
        changed += await self._apply_once(raises, clears)
        if self.metrics is not None:
            for c in changed:
                if c.transition == "raised":
                    self.metrics.alarms_raised.labels(c.priority).inc()
        return changed

    async def _apply_once(self, raises: list[Raise], clears: list[Clear]) -> list[AlarmChange]:
        if not raises and not clears:
            return []
        async with self.sessions() as session:
            return await self.service(session).apply(raises, clears)

    # ------------------------------------------------------------------ the twin's desired state
    def on_change(self, msg: ChangeMessage) -> None:
        """Change-feed listener: a machine whose desired `mode` is off or maintenance (or whose attributes
        say `maintenance: true`) has its alarms suppressed by design, and released when that ends."""
        if not isinstance(msg, TwinsMessage):
            return
        for item in msg.items:
            if isinstance(item, StatusChange):
                self._status(item)
            if not isinstance(item, WholeTwinChange):
                continue
            mode = item.desired.get("mode")
            suppressed = mode in SUPPRESSING_MODES or item.attributes.get("maintenance") is True
            if suppressed != (item.id in self._suppressed):
                if suppressed:
                    self._suppressed.add(item.id)
                else:
                    self._suppressed.discard(item.id)
                self._suppression_changes[item.id] = suppressed

    def _status(self, item: StatusChange) -> None:
        """A machine gone offline has an alarm until it is back online (every process hears it; the
        database keeps it to one alarm and one clear)."""
        now = datetime.now(UTC)
        if item.status == "offline":
            message = f"{item.id} offline: no telemetry since {item.last_seen or 'never'}"
            self._from_feed.append(
                Raise(
                    item.id,
                    "offline",
                    "offline",
                    "medium",
                    now,
                    message,
                    details={"last_seen": item.last_seen},
                )
            )
        elif item.status == "online":
            self._from_feed.append(Clear(item.id, "offline", now))

    async def housekeep(self) -> None:
        """Suppression changes, shelving expiry, rules refresh and waiting transitions."""
        changes, self._suppression_changes = self._suppression_changes, {}
        for machine_id, suppressed in changes.items():
            async with self.sessions() as session:
                reason = (
                    "machine in maintenance or switched off" if suppressed else "machine back in operation"
                )
                await self.service(session).set_suppressed(machine_id, suppressed, reason)
        async with self.sessions() as session:
            await self.service(session).unshelve_expired()
        await self.refresh_rules()
        todo, self._from_feed = self._from_feed, []
        if self._waiting or todo:
            await self.write(todo)

    async def housekeep_forever(self, every_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.housekeep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("alarm_housekeeping_failed", error=describe(exc))
