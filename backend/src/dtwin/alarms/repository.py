"""Every SQL statement of alarms and threshold rules (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.alarms.models import AlarmEventRow, AlarmRow, AlarmRuleRow
from dtwin.core.db import dialect_insert

OPEN = ("unack_active", "ack_active", "unack_cleared")  # not back to normal
ACTIVE = ("unack_active", "ack_active")  # the condition still holds


class AlarmRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ rules
    async def rule(self, rule_id: int, *, lock: bool = False) -> AlarmRuleRow | None:
        q = select(AlarmRuleRow).where(AlarmRuleRow.id == rule_id, AlarmRuleRow.deleted.is_(False))
        if lock:
            q = q.with_for_update()
        return (await self.session.scalars(q)).one_or_none()

    async def rules(
        self, *, machine_type: str | None = None, machine_id: str | None = None, enabled_only: bool = False
    ) -> list[AlarmRuleRow]:
        q = select(AlarmRuleRow).where(AlarmRuleRow.deleted.is_(False)).order_by(AlarmRuleRow.id)
        if machine_type is not None:
            q = q.where(AlarmRuleRow.machine_type == machine_type)
        if machine_id is not None:
            q = q.where(AlarmRuleRow.machine_id == machine_id)
        if enabled_only:
            q = q.where(AlarmRuleRow.enabled.is_(True))
        return list((await self.session.scalars(q)).all())

    async def count_rules(self) -> int:
        q = select(func.count()).select_from(AlarmRuleRow).where(AlarmRuleRow.deleted.is_(False))
        return int(await self.session.scalar(q) or 0)

    async def rules_fingerprint(self) -> tuple[int, int, datetime | None]:
        """(rules, sum of versions, newest change), tombstones included: it changes when any rule does."""
        q = select(
            func.count(), func.coalesce(func.sum(AlarmRuleRow.version), 0), func.max(AlarmRuleRow.updated_at)
        )
        count, versions, newest = (await self.session.execute(q)).one()
        return int(count), int(versions), newest

    async def add_rule(self, values: dict[str, Any]) -> AlarmRuleRow:
        row = AlarmRuleRow(**values)
        self.session.add(row)
        await self.session.flush()
        return row

    async def update_rule(self, rule_id: int, version: int, values: dict[str, Any]) -> AlarmRuleRow | None:
        stmt = (
            update(AlarmRuleRow)
            .where(
                AlarmRuleRow.id == rule_id, AlarmRuleRow.version == version, AlarmRuleRow.deleted.is_(False)
            )
            .values(values)
            .returning(AlarmRuleRow)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    # ------------------------------------------------------------------ alarms
    async def get(self, alarm_id: int, *, lock: bool = False) -> AlarmRow | None:
        q = select(AlarmRow).where(AlarmRow.id == alarm_id)
        if lock:
            q = q.with_for_update()
        return (await self.session.scalars(q)).one_or_none()

    async def get_many(self, ids: Sequence[int], *, lock: bool = False) -> list[AlarmRow]:
        q = select(AlarmRow).where(AlarmRow.id.in_(list(ids))).order_by(AlarmRow.id)
        if lock:
            q = q.with_for_update()
        return list((await self.session.scalars(q)).all())

    async def insert_open(self, values: dict[str, Any]) -> AlarmRow | None:
        """Insert a new alarm unless one is open for its (machine, condition): None then (another process,
        or an earlier delivery, raised it)."""
        stmt = (
            dialect_insert(self.session)(AlarmRow)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=["machine_id", "condition"], index_where=text("state <> 'normal'")
            )
            .returning(AlarmRow)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def open_for(
        self, keys: Sequence[tuple[str, str]], *, states: Sequence[str] = OPEN, lock: bool = False
    ) -> list[AlarmRow]:
        """The open alarms of these (machine, condition) pairs."""
        if not keys:
            return []
        q = select(AlarmRow).where(
            tuple_(AlarmRow.machine_id, AlarmRow.condition).in_(list(keys)), AlarmRow.state.in_(list(states))
        )
        if lock:
            q = q.with_for_update()
        return list((await self.session.scalars(q)).all())

    async def open_conditions(self, machine_ids: Sequence[str], source: str) -> list[tuple[str, str]]:
        """(machine, condition) of the active alarms of `source` on these machines."""
        if not machine_ids:
            return []
        q = select(AlarmRow.machine_id, AlarmRow.condition).where(
            AlarmRow.machine_id.in_(list(machine_ids)),
            AlarmRow.source == source,
            AlarmRow.state.in_(ACTIVE),
        )
        return [(m, c) for m, c in (await self.session.execute(q)).all()]

    async def open_of_machines(self, machine_ids: Sequence[str], *, lock: bool = False) -> list[AlarmRow]:
        q = select(AlarmRow).where(AlarmRow.machine_id.in_(list(machine_ids)), AlarmRow.state.in_(OPEN))
        if lock:
            q = q.with_for_update()
        return list((await self.session.scalars(q)).all())

    async def active_of_rules(self, rule_ids: Sequence[int]) -> list[AlarmRow]:
        q = (
            select(AlarmRow)
            .where(AlarmRow.rule_id.in_(list(rule_ids)), AlarmRow.state.in_(ACTIVE))
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(q)).all())

    async def shelving_expired(self, now: datetime) -> list[AlarmRow]:
        """Shelved alarms whose time is up, locked and skipped by other processes doing the same."""
        q = (
            select(AlarmRow)
            .where(AlarmRow.shelved_until.is_not(None), AlarmRow.shelved_until <= now)
            .order_by(AlarmRow.id)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(q)).all())

    async def page(
        self,
        *,
        states: Sequence[str] | None,
        priorities: Sequence[str] | None,
        machine_id: str | None,
        machine_type: str | None,
        site: str | None,
        line: str | None,
        source: str | None,
        hidden: bool | None,
        before: int | None,
        limit: int,
    ) -> list[AlarmRow]:
        """Newest first (by id), filtered; `hidden`: only shelved/suppressed/out-of-service (True), only
        shown ones (False), or both (None)."""
        q = select(AlarmRow).order_by(AlarmRow.id.desc()).limit(limit)
        conds: list[ColumnElement[bool]] = []
        if states:
            conds.append(AlarmRow.state.in_(list(states)))
        if priorities:
            conds.append(AlarmRow.priority.in_(list(priorities)))
        for col, value in (
            (AlarmRow.machine_id, machine_id),
            (AlarmRow.machine_type, machine_type),
            (AlarmRow.site, site),
            (AlarmRow.line, line),
            (AlarmRow.source, source),
        ):
            if value is not None:
                conds.append(col == value)
        is_hidden = or_(
            AlarmRow.shelved_until.is_not(None),
            AlarmRow.suppressed.is_(True),
            AlarmRow.out_of_service.is_(True),
        )
        if hidden is True:
            conds.append(is_hidden)
        elif hidden is False:
            conds.append(~is_hidden)
        if before is not None:
            conds.append(AlarmRow.id < before)
        if conds:
            q = q.where(and_(*conds))
        return list((await self.session.scalars(q)).all())

    async def newest_open(self, machine_ids: Sequence[str] | None, limit: int) -> list[AlarmRow]:
        q = select(AlarmRow).where(AlarmRow.state.in_(OPEN)).order_by(AlarmRow.id.desc()).limit(limit)
        if machine_ids is not None:
            q = q.where(AlarmRow.machine_id.in_(list(machine_ids)))
        return list((await self.session.scalars(q)).all())

    async def summary(self) -> list[tuple[str, str, bool, bool, int]]:
        """(state, priority, shelved, suppressed or out of service, count) of the open alarms."""
        shelved = AlarmRow.shelved_until.is_not(None)
        hidden = or_(AlarmRow.suppressed.is_(True), AlarmRow.out_of_service.is_(True))
        q = (
            select(AlarmRow.state, AlarmRow.priority, shelved, hidden, func.count())
            .where(AlarmRow.state.in_(OPEN))
            .group_by(AlarmRow.state, AlarmRow.priority, shelved, hidden)
        )
        return [(s, p, bool(sh), bool(h), int(n)) for s, p, sh, h, n in (await self.session.execute(q)).all()]

    # ------------------------------------------------------------------ history
    async def add_events(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.add_all([AlarmEventRow(**r) for r in rows])
            await self.session.flush()

    async def history(self, alarm_id: int) -> list[AlarmEventRow]:
        q = select(AlarmEventRow).where(AlarmEventRow.alarm_id == alarm_id).order_by(AlarmEventRow.seq)
        return list((await self.session.scalars(q)).all())

    async def raised_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[int, datetime, str, str, str | None]]:
        """(alarm id, ts, machine, condition, site) of every alarm raised in [start, end), in time order: what
        the flood and chattering reports count."""
        q = (
            select(
                AlarmEventRow.alarm_id,
                AlarmEventRow.ts,
                AlarmRow.machine_id,
                AlarmRow.condition,
                AlarmRow.site,
            )
            .join(AlarmRow, AlarmRow.id == AlarmEventRow.alarm_id)
            .where(AlarmEventRow.kind == "raised", AlarmEventRow.ts >= start, AlarmEventRow.ts < end)
            .order_by(AlarmEventRow.ts)
        )
        return [(i, ts, m, c, s) for i, ts, m, c, s in (await self.session.execute(q)).all()]
