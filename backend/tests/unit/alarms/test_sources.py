"""Alarm sources besides threshold rules: a machine gone offline (heard on the change feed), a remaining
useful life under the horizon (with hysteresis), a spike of dead letters (a system alarm); and suppression
by design when the machine's desired mode is `off` or `maintenance`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.models import AlarmRow
from dtwin.alarms.stage import AlarmStage
from dtwin.contracts.changes import StatusChange, TwinsMessage, twin_change


async def alarms(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str, bool]]:
    async with sessions() as session:
        rows = (await session.scalars(select(AlarmRow).order_by(AlarmRow.id))).all()
        return [(r.machine_id, r.condition, r.state, r.suppressed) for r in rows]


async def test_offline_machines_raise_and_clear(sessions: async_sessionmaker[AsyncSession]) -> None:
    stage = AlarmStage(sessions)
    stage.on_change(
        TwinsMessage(items=[StatusChange(id="p1", status="offline", last_seen="2026-12-01T08:00:00Z")])
    )
    stage.on_change(TwinsMessage(items=[StatusChange(id="p2", status="stale", last_seen=None)]))  # no alarm
    await stage.housekeep()
    assert await alarms(sessions) == [("p1", "offline", "unack_active", False)]
    stage.on_change(TwinsMessage(items=[StatusChange(id="p1", status="offline", last_seen=None)]))  # again
    await stage.housekeep()
    assert len(await alarms(sessions)) == 1
    stage.on_change(TwinsMessage(items=[StatusChange(id="p1", status="online", last_seen=None)]))
    await stage.housekeep()
    assert await alarms(sessions) == [("p1", "offline", "unack_cleared", False)]


async def test_remaining_useful_life_under_the_horizon_with_hysteresis(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    stage = AlarmStage(sessions, rul_hours=24.0)
    await stage.process([], {}, rul={"m1": 30 * 3600.0, "m2": 10 * 3600.0})
    assert await alarms(sessions) == [("m2", "rul", "unack_active", False)]
    await stage.process([], {}, rul={"m2": 30 * 3600.0})  # between 1 and 1.5 horizons: still low
    assert await alarms(sessions) == [("m2", "rul", "unack_active", False)]
    await stage.process([], {}, rul={"m2": float("inf")})  # no longer degrading
    assert await alarms(sessions) == [("m2", "rul", "unack_cleared", False)]


async def test_a_spike_of_dead_letters_is_a_system_alarm(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = [0.0]
    stage = AlarmStage(sessions, dead_letters_per_min=100.0, clock=lambda: now[0])
    await stage.process([], {}, rejected=60)
    assert await alarms(sessions) == []
    now[0] = 30.0
    await stage.process([], {}, rejected=60)  # 120 in the last minute
    assert await alarms(sessions) == [("system", "dead_letters", "unack_active", False)]
    now[0] = 200.0
    await stage.process([], {}, rejected=1)
    assert await alarms(sessions) == [("system", "dead_letters", "unack_cleared", False)]


def whole_twin(machine_id: str, desired: dict[str, Any]) -> TwinsMessage:
    fields = {
        "id": machine_id,
        "machine_type": "pump",
        "site": None,
        "line": None,
        "version": 2,
        "ts": None,
        "last_seen": None,
        "quality": "good",
        "readings": {},
        "reported": {},
        "desired": desired,
        "desired_version": 1,
        "attributes": {},
        "command": None,
        "status_known": None,
        "delta": {},
        "health": None,
        "anomaly_score": None,
        "strategy": None,
        "created_at": None,
        "updated_at": None,
    }
    return TwinsMessage(items=[twin_change(fields)])


async def test_maintenance_mode_suppresses_by_design(sessions: async_sessionmaker[AsyncSession]) -> None:
    stage = AlarmStage(sessions, rul_hours=24.0)
    await stage.process([], {}, rul={"m1": 3600.0})
    stage.on_change(whole_twin("m1", {"mode": "maintenance"}))
    await stage.housekeep()
    assert await alarms(sessions) == [("m1", "rul", "unack_active", True)]
    await stage.process([], {}, rul={"m9": 3600.0})
    stage.on_change(whole_twin("m9", {"mode": "off"}))
    await stage.housekeep()
    stage.on_change(whole_twin("m1", {"mode": "on"}))
    await stage.housekeep()
    assert await alarms(sessions) == [
        ("m1", "rul", "unack_active", False),
        ("m9", "rul", "unack_active", True),
    ]
