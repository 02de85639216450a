"""Alarm lifecycle (ISA-18.2 / IEC 62682) and threshold rules.

Every transition is one database transaction that updates the alarm, appends its history entry (actor, time,
comment) and leaves a notice in the notifications outbox (`NoticeOutbox`, written with the same session:
a notification exists if and only if its transition does). After the commit the alarm goes out on the change
stream (`alarms` messages: the WebSocket, other processes). Raising is idempotent across processes: the
partial unique index on open (machine, condition) lets one insert win, the others find it open.

States: raised `unack_active`; acknowledged `ack_active`; its condition back to normal closes an
acknowledged alarm (`normal`) and leaves an unacknowledged one `unack_cleared` until someone acknowledges it.
Shelved (by an operator, for a while, with a reason; unshelved by itself when the time is up), suppressed by
design (the machine's desired `mode` is `off` or `maintenance`) and out of service are flags on top: such an
alarm is kept and updated but not shown in the operator's default list and not notified."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.alarms import reports
from dtwin.alarms.models import AlarmRow, AlarmRuleRow
from dtwin.alarms.repository import ACTIVE, OPEN, AlarmRepository
from dtwin.alarms.schemas import (
    AlarmDetail,
    AlarmEventRead,
    AlarmList,
    AlarmRead,
    AlarmReports,
    AlarmRuleIn,
    AlarmRuleList,
    AlarmRuleRead,
    AlarmSummary,
    BulkAckResult,
    PreviewEpisode,
    PreviewMachine,
    RulePreview,
    RulePreviewIn,
)
from dtwin.alarms.thresholds import Rule, ThresholdEvaluator
from dtwin.contracts.alarms import PRIORITIES, AlarmNotice, NoticeOutbox
from dtwin.contracts.changes import AlarmChange, AlarmsMessage
from dtwin.contracts.limits import MAX_ALARM_RULES, MAX_PREVIEW_READINGS
from dtwin.core.change_stream import ChangeStream
from dtwin.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from dtwin.readings.service import TooManyReadings, sensor_history

SYSTEM = "system"
# what a rule's scope (machine type, machine id) is known to measure; None: neither is known
SensorsOf = Callable[[str | None, str | None], Awaitable[set[str] | None]]
ORDER = ("lolo", "lo", "hi", "hihi")  # thresholds of one scope and sensor must rise in this order


@dataclass(frozen=True, slots=True)
class Raise:
    """A condition that should have an alarm (from a threshold rule, an anomaly, a stale machine, ...)."""

    machine_id: str
    condition: str
    source: str
    priority: str
    ts: datetime
    message: str
    value: float | None = None
    rule_id: int | None = None
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Clear:
    """A condition back to normal."""

    machine_id: str
    condition: str
    ts: datetime
    value: float | None = None


def replay(rule: Rule, rows: Sequence[tuple[str, datetime, float]]) -> dict[str, Any]:
    """Run one rule over stored (machine, ts, value) rows: alarms, chattering, episodes (first 200) and
    per-machine counts (CPU work: called in a thread)."""
    ev = ThresholdEvaluator([rule])
    slot_of = {m: ev.series(m, rule) for m in dict.fromkeys(m for m, _, _ in rows)}
    slots = np.fromiter((slot_of[m] for m, _, _ in rows), dtype=np.int64, count=len(rows))
    ts = np.fromiter((t.timestamp() for _, t, _ in rows), dtype=np.float64, count=len(rows))
    x = np.fromiter((v for _, _, v in rows), dtype=np.float64, count=len(rows))
    crossings = ev.step(slots, ts, x) if rows else []
    episodes: list[PreviewEpisode] = []
    open_at: dict[str, int] = {}
    raised_at: dict[str, list[float]] = {}
    for c in crossings:
        if c.raised:
            open_at[c.machine_id] = len(episodes)
            raised_at.setdefault(c.machine_id, []).append(c.ts)
            episodes.append(
                PreviewEpisode(
                    machine_id=c.machine_id,
                    raised_at=datetime.fromtimestamp(c.ts, UTC),
                    cleared_at=None,
                    value=c.value,
                )
            )
        elif (k := open_at.pop(c.machine_id, None)) is not None:
            episodes[k].cleared_at = datetime.fromtimestamp(c.ts, UTC)
    per_machine = sorted(
        (PreviewMachine(machine_id=m, alarms=len(t)) for m, t in raised_at.items()), key=lambda p: -p.alarms
    )
    chatter = sum(
        1
        for t in raised_at.values()
        if reports.max_in_window(t, reports.CHATTER_WINDOW_S) >= reports.CHATTER_COUNT
    )
    return {
        "alarms": len(episodes),
        "chattering": chatter,
        "episodes": episodes[:200],
        "per_machine": per_machine,
    }


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _hidden(row: AlarmRow) -> bool:
    return row.shelved_until is not None or row.suppressed or row.out_of_service


class AlarmService:
    """One unit of work on alarms: its session commits in `_finish` (then the changes are published)."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        outbox: NoticeOutbox | None = None,
        changes: ChangeStream | None = None,
        suppressed: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] | None = None,
        sensors_of: SensorsOf | None = None,
    ) -> None:
        self.session = session
        self.sensors_of = sensors_of
        self.repo = AlarmRepository(session)
        self.outbox = outbox
        self.changes = changes
        self.suppressed = suppressed or (lambda _machine: False)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._notices: list[AlarmNotice] = []
        self._events: list[dict[str, Any]] = []
        self._changed: list[AlarmChange] = []

    # ------------------------------------------------------------------ transitions (internal)
    def _transition(
        self,
        row: AlarmRow,
        kind: str,
        ts: datetime,
        actor: str,
        comment: str | None = None,
        details: dict[str, Any] | None = None,
        notify: bool = True,
    ) -> None:
        """Record one transition of `row` (already updated): history, notice, change."""
        row.seq = (row.seq or 0) + 1
        row.updated_at = ts
        self._events.append(
            {
                "alarm_id": row.id,
                "seq": row.seq,
                "ts": ts,
                "kind": kind,
                "state": row.state,
                "actor": actor,
                "comment": comment,
                "details": details or {},
            }
        )
        change = AlarmChange(
            id=row.id,
            machine_id=row.machine_id,
            condition=row.condition,
            source=row.source,
            priority=row.priority,
            state=row.state,
            transition=kind,
            seq=row.seq,
            message=row.message,
            raised_at=_iso(row.raised_at) or "",
            updated_at=_iso(ts) or "",
            machine_type=row.machine_type,
            site=row.site,
            line=row.line,
            value=row.value,
            acked_by=row.acked_by,
            shelved_until=_iso(row.shelved_until),
            suppressed=row.suppressed,
            out_of_service=row.out_of_service,
        )
        self._changed.append(change)
        if notify and self.outbox is not None:
            self._notices.append(
                AlarmNotice(
                    key=f"{row.id}:{row.seq}",
                    alarm_id=row.id,
                    transition=kind,  # type: ignore[arg-type]
                    state=row.state,  # type: ignore[arg-type]
                    priority=row.priority,  # type: ignore[arg-type]
                    source=row.source,  # type: ignore[arg-type]
                    condition=row.condition,
                    machine_id=row.machine_id,
                    machine_type=row.machine_type,
                    site=row.site,
                    line=row.line,
                    ts=_iso(ts) or "",
                    raised_at=_iso(row.raised_at) or "",
                    message=row.message,
                    value=row.value,
                    actor=actor,
                    comment=comment,
                    shelved=row.shelved_until is not None,
                    suppressed=row.suppressed or row.out_of_service,
                    details=row.details or {},
                )
            )

    async def _finish(self) -> list[AlarmChange]:
        """Write the history and the notices, commit, then publish the changes."""
        await self.repo.add_events(self._events)
        if self._notices and self.outbox is not None:
            await self.outbox.enqueue(self.session, self._notices)
        await self.session.commit()
        changed, self._changed, self._events, self._notices = self._changed, [], [], []
        if changed and self.changes is not None:
            await self.changes.emit(AlarmsMessage(items=changed))
        return changed

    # ------------------------------------------------------------------ from the stream
    async def apply(self, raises: Sequence[Raise], clears: Sequence[Clear]) -> list[AlarmChange]:
        """Raise and clear alarms (one transaction). A raise whose alarm is already open changes nothing (a
        redelivery, or another process); a clear whose alarm is not active changes nothing."""
        now = self.clock()
        for r in raises:
            suppressed = self.suppressed(r.machine_id)
            row = await self.repo.insert_open(
                {
                    "machine_id": r.machine_id,
                    "condition": r.condition,
                    "source": r.source,
                    "rule_id": r.rule_id,
                    "priority": r.priority,
                    "state": "unack_active",
                    "machine_type": r.machine_type,
                    "site": r.site,
                    "line": r.line,
                    "message": r.message,
                    "value": r.value,
                    "details": r.details,
                    "suppressed": suppressed,
                    "out_of_service": False,
                    "raised_at": r.ts,
                    "updated_at": now,
                    "seq": 0,
                }
            )
            if row is not None:
                self._transition(row, "raised", r.ts, SYSTEM, details={"value": r.value})
                continue
            # open already: active (a redelivery, another process: nothing to do), or back to normal but not
            # acknowledged, which the condition's return re-activates (ISA-18.2: RTNUN -> UNACK; one alarm,
            # one more activation in its history, which the chattering report counts)
            for again in await self.repo.open_for(
                [(r.machine_id, r.condition)], states=("unack_cleared",), lock=True
            ):
                again.state, again.cleared_at, again.value = "unack_active", None, r.value
                self._transition(again, "raised", r.ts, SYSTEM, "re-activated", {"value": r.value})
        keys = [(c.machine_id, c.condition) for c in clears]
        rows = {
            (a.machine_id, a.condition): a for a in await self.repo.open_for(keys, states=ACTIVE, lock=True)
        }
        for c in clears:
            row = rows.get((c.machine_id, c.condition))
            if row is not None and row.state in ACTIVE:
                self._clear(row, c.ts, None, {"value": c.value})
        return await self._finish()

    def _clear(self, row: AlarmRow, ts: datetime, comment: str | None, details: dict[str, Any]) -> None:
        row.cleared_at = ts
        if row.state == "ack_active":
            row.state, row.closed_at = "normal", ts
        else:
            row.state = "unack_cleared"
        self._transition(row, "cleared", ts, SYSTEM, comment, details)

    async def clear_rules(self, rule_ids: Sequence[int], reason: str) -> list[AlarmChange]:
        """Clear the active alarms of rules that were deleted or disabled (nothing evaluates them now)."""
        now = self.clock()
        for row in await self.repo.active_of_rules(rule_ids):
            self._clear(row, now, reason, {})
        return await self._finish()

    async def set_suppressed(self, machine_id: str, suppressed: bool, reason: str) -> list[AlarmChange]:
        """Suppress by design (or release) every open alarm of a machine."""
        now = self.clock()
        for row in await self.repo.open_of_machines([machine_id], lock=True):
            if row.suppressed == suppressed:
                continue
            row.suppressed = suppressed
            kind = "suppressed" if suppressed else "unsuppressed"
            self._transition(row, kind, now, SYSTEM, comment=reason)
        return await self._finish()

    async def unshelve_expired(self) -> list[AlarmChange]:
        """Unshelve the alarms whose shelving time is up (any process may run it: rows are claimed)."""
        now = self.clock()
        for row in await self.repo.shelving_expired(now):
            row.shelved_until = None
            self._transition(row, "unshelved", now, SYSTEM, comment="shelving expired")
        return await self._finish()

    # ------------------------------------------------------------------ operator actions
    async def _open_row(self, alarm_id: int) -> AlarmRow:
        row = await self.repo.get(alarm_id, lock=True)
        if row is None:
            raise NotFound(f"no alarm {alarm_id}")
        return row

    def _ack(self, row: AlarmRow, actor: str, comment: str | None, now: datetime) -> str | None:
        """Acknowledge; why not when it cannot be (None when done)."""
        if row.state == "unack_active":
            row.state = "ack_active"
        elif row.state == "unack_cleared":
            row.state, row.closed_at = "normal", now
        else:
            return f"already acknowledged (state {row.state})"
        row.acked_at, row.acked_by = now, actor
        self._transition(row, "acknowledged", now, actor, comment)
        return None

    async def acknowledge(self, alarm_id: int, actor: str, comment: str | None) -> AlarmRead:
        row = await self._open_row(alarm_id)
        problem = self._ack(row, actor, comment, self.clock())
        if problem is not None:
            raise Conflict(f"alarm {alarm_id}: {problem}")
        await self._finish()
        return AlarmRead.model_validate(row)

    async def acknowledge_many(self, ids: Sequence[int], actor: str, comment: str | None) -> BulkAckResult:
        now = self.clock()
        rows = {r.id: r for r in await self.repo.get_many(sorted(set(ids)), lock=True)}
        done: list[int] = []
        skipped: dict[int, str] = {}
        for i in dict.fromkeys(ids):
            row = rows.get(i)
            if row is None:
                skipped[i] = "not found"
                continue
            problem = self._ack(row, actor, comment, now)
            if problem is None:
                done.append(i)
            else:
                skipped[i] = problem
        await self._finish()
        return BulkAckResult(acknowledged=done, skipped=skipped)

    async def shelve(self, alarm_id: int, actor: str, duration_s: float, reason: str) -> AlarmRead:
        row = await self._open_row(alarm_id)
        if row.state not in OPEN:
            raise Conflict(f"alarm {alarm_id} is closed: nothing to shelve")
        now = self.clock()
        row.shelved_until = now + timedelta(seconds=duration_s)
        self._transition(row, "shelved", now, actor, reason, {"until": _iso(row.shelved_until)})
        await self._finish()
        return AlarmRead.model_validate(row)

    async def unshelve(self, alarm_id: int, actor: str, comment: str | None) -> AlarmRead:
        row = await self._open_row(alarm_id)
        if row.shelved_until is None:
            raise Conflict(f"alarm {alarm_id} is not shelved")
        row.shelved_until = None
        self._transition(row, "unshelved", self.clock(), actor, comment)
        await self._finish()
        return AlarmRead.model_validate(row)

    async def set_out_of_service(
        self, alarm_id: int, actor: str, out: bool, comment: str | None
    ) -> AlarmRead:
        row = await self._open_row(alarm_id)
        if row.out_of_service == out:
            raise Conflict(f"alarm {alarm_id} is already {'out of' if out else 'in'} service")
        if out and row.state not in OPEN:
            raise Conflict(f"alarm {alarm_id} is closed")
        row.out_of_service = out
        self._transition(row, "out_of_service" if out else "in_service", self.clock(), actor, comment)
        await self._finish()
        return AlarmRead.model_validate(row)

    async def comment(self, alarm_id: int, actor: str, comment: str) -> AlarmRead:
        row = await self._open_row(alarm_id)
        self._transition(row, "commented", self.clock(), actor, comment, notify=False)
        await self._finish()
        return AlarmRead.model_validate(row)

    # ------------------------------------------------------------------ reads
    async def get(self, alarm_id: int) -> AlarmDetail:
        row = await self.repo.get(alarm_id)
        if row is None:
            raise NotFound(f"no alarm {alarm_id}")
        history = [AlarmEventRead.model_validate(e) for e in await self.repo.history(alarm_id)]
        return AlarmDetail.model_validate({**AlarmRead.model_validate(row).model_dump(), "history": history})

    async def page(self, *, limit: int, cursor: int | None, **filters: Any) -> AlarmList:
        rows = await self.repo.page(before=cursor, limit=limit, **filters)
        items = [AlarmRead.model_validate(r) for r in rows]
        return AlarmList(items=items, next_cursor=items[-1].id if len(items) == limit else None)

    async def newest_open(self, machine_ids: frozenset[str] | None, limit: int) -> list[AlarmRead]:
        """The newest open alarms (of these machines), newest first: the WebSocket's `alarms` snapshot."""
        rows = await self.repo.newest_open(None if machine_ids is None else sorted(machine_ids), limit)
        return [AlarmRead.model_validate(r) for r in rows]

    async def summary(self) -> AlarmSummary:
        unack = active = shelved = suppressed = 0
        by_priority: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
        for state, priority, is_shelved, is_hidden, n in await self.repo.summary():
            if is_shelved:
                shelved += n
                continue
            if is_hidden:
                suppressed += n
                continue
            if state in ("unack_active", "unack_cleared"):
                unack += n
                by_priority[priority] = by_priority.get(priority, 0) + n
            if state in ACTIVE:
                active += n
        return AlarmSummary(
            unacknowledged=unack,
            active=active,
            shelved=shelved,
            suppressed=suppressed,
            by_priority=by_priority,
        )

    # ------------------------------------------------------------------ reports and previews
    async def reports(self, hours: float, site: str | None) -> AlarmReports:
        start, end = reports.period(hours, self.clock())
        raised = await self.repo.raised_between(start, end)
        if site is not None:
            raised = [r for r in raised if r[4] == site]
        return AlarmReports.model_validate(
            {
                "start": start,
                "end": end,
                "raised": len(raised),
                "flood": reports.flood([(ts, s) for _, ts, _, _, s in raised], start, end),
                "frequent": reports.frequent([(m, c) for _, _, m, c, _ in raised]),
                "chattering": reports.chattering([(ts, m, c) for _, ts, m, c, _ in raised]),
            }
        )

    async def preview(self, body: RulePreviewIn, machines: Sequence[str]) -> RulePreview:
        """Replay a draft rule over the stored readings of `machines` (the rule's scope) for `days`: what
        it would have raised. Bounded: more than MAX_PREVIEW_READINGS readings is a 422."""
        end = self.clock()
        start = end - timedelta(days=body.days)
        r = body.rule
        try:
            rows = await sensor_history(self.session, machines, r.sensor, start, end, MAX_PREVIEW_READINGS)
        except TooManyReadings as exc:
            raise InvalidInput(
                f"the preview would replay {exc.found:,} readings (at most {exc.limit:,}): "
                "fewer days, or name machine_ids"
            ) from exc
        rule = Rule.of(0, r)
        out = await asyncio.to_thread(replay, rule, rows)
        return RulePreview(start=start, end=end, machines=len(machines), readings=len(rows), **out)

    # ------------------------------------------------------------------ rules
    async def rules(self, machine_type: str | None, machine_id: str | None) -> AlarmRuleList:
        rows = await self.repo.rules(machine_type=machine_type, machine_id=machine_id)
        return AlarmRuleList(items=[AlarmRuleRead.model_validate(r) for r in rows], count=len(rows))

    async def rule(self, rule_id: int) -> AlarmRuleRead:
        row = await self.repo.rule(rule_id)
        if row is None:
            raise NotFound(f"no alarm rule {rule_id}")
        return AlarmRuleRead.model_validate(row)

    async def _check_rule(self, body: AlarmRuleIn, rule_id: int | None = None) -> None:
        """422 for a sensor the scope does not measure, or thresholds of one scope and sensor out of order
        (lolo < lo < hi < hihi: a lo above a hi would alarm all the time)."""
        if self.sensors_of is not None:
            known = await self.sensors_of(body.machine_type, body.machine_id)
            scope = (
                f"machine {body.machine_id!r}" if body.machine_id else f"machine type {body.machine_type!r}"
            )
            if known is None:
                raise InvalidInput(f"{scope}: not registered and not seen in telemetry")
            if body.sensor not in known:
                listed = ", ".join(sorted(known)[:20]) or "none"
                raise InvalidInput(f"sensor {body.sensor!r}: {scope} has no such sensor (it has {listed})")
        siblings = [
            r
            for r in await self.repo.rules(machine_type=body.machine_type, machine_id=body.machine_id)
            if r.sensor == body.sensor and r.id != rule_id and r.machine_id == body.machine_id
        ]
        mine = ORDER.index(body.kind)
        for r in siblings:
            other = ORDER.index(r.kind)
            if other == mine:
                raise InvalidInput(f"rule {r.id} already sets {r.kind} of {body.sensor} for this scope")
            below = other < mine
            if (below and not r.threshold < body.threshold) or (
                not below and not body.threshold < r.threshold
            ):
                raise InvalidInput(
                    f"threshold: {body.kind} {body.threshold:g} must be "
                    f"{'above' if below else 'below'} {r.kind} {r.threshold:g} (rule {r.id})"
                )

    async def create_rule(self, body: AlarmRuleIn, actor: str) -> AlarmRuleRead:
        if await self.repo.count_rules() >= MAX_ALARM_RULES:
            raise InvalidInput(f"at most {MAX_ALARM_RULES} alarm rules; delete some first")
        await self._check_rule(body)
        now = self.clock()
        row = await self.repo.add_rule(
            {**body.model_dump(), "version": 1, "created_at": now, "updated_at": now, "updated_by": actor}
        )
        await self.session.commit()
        return AlarmRuleRead.model_validate(row)

    async def replace_rule(
        self, rule_id: int, body: AlarmRuleIn, actor: str, if_match: int | None
    ) -> AlarmRuleRead:
        row = await self._rule_at(rule_id, if_match)
        values = body.model_dump()
        await self._check_rule(body, rule_id)
        if all(getattr(row, k) == v for k, v in values.items()):
            return AlarmRuleRead.model_validate(row)  # the stored rule again: no new version
        values |= {"version": row.version + 1, "updated_at": self.clock(), "updated_by": actor}
        updated = await self.repo.update_rule(rule_id, row.version, values)
        if updated is None:
            raise PreconditionFailed(f"alarm rule {rule_id} changed meanwhile; read it again")
        await self.session.commit()
        return AlarmRuleRead.model_validate(updated)

    async def delete_rule(self, rule_id: int, actor: str, if_match: int | None) -> None:
        row = await self._rule_at(rule_id, if_match)
        values = {
            "deleted": True,
            "version": row.version + 1,
            "updated_at": self.clock(),
            "updated_by": actor,
        }
        if await self.repo.update_rule(rule_id, row.version, values) is None:
            raise PreconditionFailed(f"alarm rule {rule_id} changed meanwhile; read it again")
        await self.session.commit()

    async def _rule_at(self, rule_id: int, if_match: int | None) -> AlarmRuleRow:
        row = await self.repo.rule(rule_id, lock=True)
        if row is None:
            raise NotFound(f"no alarm rule {rule_id}")
        if if_match is not None and row.version != if_match:
            raise PreconditionFailed(f"alarm rule {rule_id} is at version {row.version}, not {if_match}")
        return row
