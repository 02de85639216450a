"""Readings stored one row per machine-instant on plain PostgreSQL (migration 0020): the `readings` view gives
back every reading with its quality, redelivery is idempotent, sets of sensors are shared and cached only
once committed."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.wide import Instant, _sets_of

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(pg_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _view(sessions: Sessions, machine: str) -> list[tuple[str, datetime, float, str]]:
    async with sessions() as s:
        rows = await s.execute(
            text("SELECT sensor, ts, value, quality FROM readings WHERE machine_id = :m ORDER BY ts, sensor"),
            {"m": machine},
        )
        return [tuple(r) for r in rows]


async def test_instants_round_trip_through_the_view_with_per_sensor_quality(
    sessions: Sessions, uid: str
) -> None:
    m = f"w-{uid}"
    instants = [
        Instant(m, T0, "good", {"b": 2.0, "a": 1.0}),  # not in sorted order
        Instant(m, T0 + timedelta(seconds=1), "uncertain", {"a": 3.0, "b": 4.0}, {"b": "bad"}),
    ]
    async with transaction(sessions) as s:
        assert await ReadingRepository(s).insert_instants(instants) == 4
    assert await _view(sessions, m) == [
        ("a", T0, 1.0, "good"),
        ("b", T0, 2.0, "good"),
        ("a", T0 + timedelta(seconds=1), 3.0, "uncertain"),
        ("b", T0 + timedelta(seconds=1), 4.0, "bad"),
    ]
    async with sessions() as s:  # one row per instant, both on one shared set
        rows = (
            await s.execute(text("SELECT set_id FROM reading_rows WHERE machine_id = :m"), {"m": m})
        ).all()
    assert len(rows) == 2 and rows[0] == rows[1]


async def test_redelivery_is_idempotent_and_counts_only_what_is_new(sessions: Sessions, uid: str) -> None:
    m = f"w-{uid}"
    rows = [(m, s, T0 + timedelta(seconds=i), float(i), "good") for i in range(10) for s in ("x", "y", "z")]
    async with transaction(sessions) as s:
        assert await ReadingRepository(s).insert_many(rows[:15]) == 15  # COPY straight in
    async with transaction(sessions) as s:
        assert await ReadingRepository(s).insert_many(rows) == 15  # the staging path: the new half only
    async with transaction(sessions) as s:
        assert await ReadingRepository(s).insert_many(rows) == 0
    assert len(await _view(sessions, m)) == 30


async def test_other_sensors_at_a_stored_instant_are_kept(sessions: Sessions, uid: str) -> None:
    """A second message of the machine at the same instant with other sensors is a second row, not lost."""
    m = f"w-{uid}"
    async with transaction(sessions) as s:
        await ReadingRepository(s).insert_instants([Instant(m, T0, "good", {"a": 1.0})])
    async with transaction(sessions) as s:
        assert await ReadingRepository(s).insert_instants([Instant(m, T0, "good", {"vib": 7.0})]) == 1
    assert [(r[0], r[2]) for r in await _view(sessions, m)] == [("a", 1.0), ("vib", 7.0)]


async def test_a_set_from_a_rolled_back_batch_is_not_cached(sessions: Sessions, uid: str) -> None:
    m = f"w-{uid}"
    fresh = {f"only-{uid}": 1.0}

    async def failing_batch() -> None:
        async with transaction(sessions) as s:
            await ReadingRepository(s).insert_instants([Instant(m, T0, "good", fresh)])
            raise RuntimeError("the batch fails after the COPY")

    with pytest.raises(RuntimeError):
        await failing_batch()
    async with sessions() as s:
        assert tuple(fresh) not in _sets_of(s).by_order
        found = await s.execute(
            text("SELECT count(*) FROM sensor_sets WHERE :n = ANY(sensors)"), {"n": f"only-{uid}"}
        )
        assert found.scalar_one() == 0
    async with transaction(sessions) as s:  # the set is created again, and stored readings use it
        assert await ReadingRepository(s).insert_instants([Instant(m, T0, "good", fresh)]) == 1
    async with sessions() as s:
        assert tuple(fresh) in _sets_of(s).by_order
    assert [(r[0], r[2]) for r in await _view(sessions, m)] == [(f"only-{uid}", 1.0)]


async def test_purging_a_machine_removes_its_rows(sessions: Sessions, uid: str) -> None:
    m = f"w-{uid}"
    async with transaction(sessions) as s:
        await ReadingRepository(s).insert_instants([Instant(m, T0, "good", {"a": 1.0, "b": 2.0})])
    async with transaction(sessions) as s:
        assert await ReadingRepository(s).delete_machine(m) == 1  # one row held both readings
    assert await _view(sessions, m) == []
