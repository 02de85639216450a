"""History buckets, state-at and streaming on both SQL dialects (real PostgreSQL and SQLite)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.core.migrate import upgrade
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.rollups import BucketReader

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path, uid: str
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], str]]:
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
        await upgrade(url)
    engine = create_engine(url)
    machine = f"h-{uid}"
    # sensor a: one reading every 10 s for an hour, value = index; sensor b: every 60 s, value = -index
    rows = [(machine, "a", T0 + timedelta(seconds=10 * i), float(i), "good") for i in range(360)]
    rows += [(machine, "b", T0 + timedelta(seconds=60 * i), float(-i), "good") for i in range(60)]
    async with transaction(create_sessionmaker(engine)) as s:
        await ReadingRepository(s).insert_many(rows)
    yield create_sessionmaker(engine), machine
    await engine.dispose()


async def test_minute_buckets_aggregate_exactly(
    sessions: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    maker, machine = sessions
    async with maker() as s:
        got = await BucketReader(s).from_raw(machine, "1m", sensor="a", start=T0, end=T0 + timedelta(hours=1))
    assert len(got) == 60
    for k, b in enumerate(got):
        assert b.ts == T0 + timedelta(minutes=k)
        assert (b.count, b.min, b.max, b.avg) == (6, 6.0 * k, 6.0 * k + 5, 6.0 * k + 2.5)


async def test_hour_and_day_buckets_cover_both_sensors(
    sessions: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    maker, machine = sessions
    async with maker() as s:
        reader = BucketReader(s)
        hour = await reader.from_raw(machine, "1h", sensor=None, start=T0, end=T0 + timedelta(hours=2))
        day = await reader.from_raw(
            machine, "1d", sensor="b", start=T0 - timedelta(days=1), end=T0 + timedelta(days=1)
        )
    assert [(b.sensor, b.count, b.min, b.max) for b in hour] == [
        ("a", 360, 0.0, 359.0),
        ("b", 60, -59.0, 0.0),
    ]
    assert all(b.ts == T0 for b in hour)
    assert len(day) == 1 and day[0].ts == datetime(2026, 11, 23, tzinfo=UTC) and day[0].count == 60


async def test_state_at_takes_each_sensors_newest_reading_before_the_instant(
    sessions: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    maker, machine = sessions
    async with maker() as s:
        rows = await ReadingRepository(s).state_at(machine, T0 + timedelta(seconds=125))
        before = await ReadingRepository(s).state_at(machine, T0 - timedelta(seconds=1))
    assert {r.sensor: (r.value, r.ts) for r in rows} == {
        "a": (12.0, T0 + timedelta(seconds=120)),
        "b": (-2.0, T0 + timedelta(seconds=120)),
    }
    assert before == []


async def test_stream_yields_every_row_once_in_order(
    sessions: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    maker, machine = sessions
    seen = []
    async with maker() as s:
        async for chunk in ReadingRepository(s).stream(machine, sensor=None, start=None, end=None, chunk=37):
            assert len(chunk) <= 37
            seen.extend((r.ts, r.sensor) for r in chunk)
    assert len(seen) == 420
    assert seen == sorted(seen) and len(set(seen)) == 420


async def test_latest_per_sensor_is_each_sensors_newest_reading_since(
    sessions: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    maker, machine = sessions
    async with maker() as s:
        got = await ReadingRepository(s).latest_per_sensor(T0 + timedelta(minutes=30))
    assert got[machine] == {
        "a": (359.0, T0 + timedelta(seconds=3590)),
        "b": (-59.0, T0 + timedelta(seconds=3540)),
    }
    assert all(ts.tzinfo is not None for _, ts in got[machine].values())


async def test_page_after_walks_the_window_in_key_order_without_gaps_or_repeats(
    sessions: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    maker, machine = sessions
    start, end = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    pages: list[list[tuple[datetime, str]]] = []
    after = None
    while True:
        async with maker() as s:
            rows = await ReadingRepository(s).page_after(
                start=start, end=end, machine_id=machine, after=after, limit=7
            )
        if not rows:
            break
        pages.append([(r.ts, r.sensor) for r in rows])
        after = (rows[-1].ts, rows[-1].machine_id, rows[-1].sensor)
    walked = [key for page in pages for key in page]
    expected = sorted(
        [(T0 + timedelta(seconds=10 * i), "a") for i in range(60, 121)]
        + [(T0 + timedelta(seconds=60 * i), "b") for i in range(10, 21)]
    )
    assert walked == expected and all(len(p) == 7 for p in pages[:-1])
