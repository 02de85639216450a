"""Alarms on real PostgreSQL: two backend processes evaluating the same readings (a rebalance, a redelivered
batch) raise one alarm, not two; a process that starts while an alarm is open clears it when the value is
back; every transition leaves exactly one notice in the outbox, in its own transaction; shelving expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.models import AlarmEventRow, AlarmRow
from dtwin.alarms.schemas import AlarmRuleIn
from dtwin.alarms.service import AlarmService
from dtwin.alarms.stage import AlarmStage
from dtwin.contracts.alarms import AlarmNotice
from dtwin.contracts.telemetry import Telemetry
from dtwin.core.db import create_engine, create_sessionmaker

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Outbox:
    """Records what would be committed with each transition."""

    def __init__(self) -> None:
        self.notices: list[AlarmNotice] = []

    async def enqueue(self, session: Any, notices: list[AlarmNotice]) -> None:
        assert isinstance(session, AsyncSession) and session.in_transaction()
        self.notices += notices


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def readings(machine: str, values: list[float], start: int = 0) -> list[Telemetry]:
    return [
        Telemetry(machine, f"press-{machine}", T0 + timedelta(seconds=start + i), {"oil_temp_c": v})
        for i, v in enumerate(values)
    ]


async def rule(sessions: async_sessionmaker[AsyncSession], machine: str) -> None:
    async with sessions() as session:
        body = AlarmRuleIn(
            name="oil hot", machine_type=f"press-{machine}", sensor="oil_temp_c", kind="hi", threshold=80.0
        )
        await AlarmService(session).create_rule(body, "user:test")


async def alarms_of(sessions: async_sessionmaker[AsyncSession], machine: str) -> list[AlarmRow]:
    async with sessions() as session:
        q = select(AlarmRow).where(AlarmRow.machine_id == machine).order_by(AlarmRow.id)
        return list((await session.scalars(q)).all())


async def test_two_processes_raise_one_alarm(sessions: async_sessionmaker[AsyncSession], uid: str) -> None:
    machine = f"m{uid}"
    await rule(sessions, machine)
    a, b = Outbox(), Outbox()
    one, two = AlarmStage(sessions, outbox=a), AlarmStage(sessions, outbox=b)
    batch = readings(machine, [70.0, 85.0, 90.0])
    placement = {machine: (f"press-{machine}", "site-1", None)}
    # both at once, three times over (each process keeps its own series state; the database decides)
    for _ in range(3):
        await asyncio.gather(one.process(batch, placement), two.process(batch, placement))
    rows = await alarms_of(sessions, machine)
    assert len(rows) == 1 and rows[0].state == "unack_active" and rows[0].site == "site-1"
    assert len(a.notices) + len(b.notices) == 1  # one raise, one notice
    async with sessions() as session:
        q = select(func.count()).select_from(AlarmEventRow).where(AlarmEventRow.alarm_id == rows[0].id)
        assert await session.scalar(q) == 1

    # a third process (a restart) sees the machine for the first time: it loads the open alarm and clears it
    three = AlarmStage(sessions, outbox=Outbox())
    await three.process(readings(machine, [70.0], start=10), placement)
    rows = await alarms_of(sessions, machine)
    assert [r.state for r in rows] == ["unack_cleared"]


async def test_shelving_expires_by_itself(sessions: async_sessionmaker[AsyncSession], uid: str) -> None:
    machine = f"s{uid}"
    await rule(sessions, machine)
    outbox = Outbox()
    stage = AlarmStage(sessions, outbox=outbox)
    await stage.process(readings(machine, [95.0]), {})
    (row,) = await alarms_of(sessions, machine)
    now = datetime.now(UTC)
    async with sessions() as session:
        shelving = AlarmService(session, clock=lambda: now, outbox=outbox)
        await shelving.shelve(row.id, "user:op", 60.0, "sensor check")
    async with sessions() as session:  # not yet
        assert await AlarmService(session, clock=lambda: now + timedelta(seconds=30)).unshelve_expired() == []
    async with sessions() as session:
        later = AlarmService(session, clock=lambda: now + timedelta(seconds=61), outbox=outbox)
        changed = await later.unshelve_expired()
    assert [(c.id, c.transition) for c in changed if c.id == row.id] == [(row.id, "unshelved")]
    assert [n.transition for n in outbox.notices if n.alarm_id == row.id] == [
        "raised",
        "shelved",
        "unshelved",
    ]
    assert len({n.key for n in outbox.notices}) == len(outbox.notices)  # one idempotency key per transition
