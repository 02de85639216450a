"""Stored rollups on real PostgreSQL give the answers raw readings give, late readings included: every
resolution is checked against an oracle computed here in Python from the rows inserted (calendar buckets in
Europe/Berlin across the end of summer time)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.refresher import RollupRefresher
from dtwin.lifecycle.service import LifecycleConfig, LifecycleService
from dtwin.readings.archive import ArchiveStore
from dtwin.readings.history import RESOLUTIONS, History, Resolution, window_of
from dtwin.readings.rollups import Agg
from dtwin.readings.service import ReadingTuple, store_readings

from .conftest import readings

TZ = "Europe/Berlin"
START = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # summer time ends 2026-10-25 01:00 UTC in Berlin
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
Key = tuple[datetime, str]


def bucket_of(ts: datetime, resolution: Resolution) -> datetime:
    width, _ = RESOLUTIONS[resolution]
    if width is not None:
        return EPOCH + timedelta(seconds=width * int((ts - EPOCH).total_seconds() // width))
    local = ts.astimezone(ZoneInfo(TZ))
    day = datetime(local.year, local.month, local.day)
    if resolution == "1w":
        day -= timedelta(days=day.weekday())
    elif resolution == "1mo":
        day = day.replace(day=1)
    return day.replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def oracle(
    rows: Sequence[ReadingTuple], machine: str, resolution: Resolution
) -> dict[Key, tuple[float, float, float, int, float, float]]:
    """min, max, sum, count, first, last per (bucket, sensor) of the machine's good readings."""
    groups: dict[Key, list[tuple[datetime, float]]] = {}
    for m, s, ts, v, q in rows:
        if m == machine and q != "bad":
            groups.setdefault((bucket_of(ts, resolution), s), []).append((ts, v))
    out = {}
    for key, pts in groups.items():
        pts.sort()
        vs = [v for _, v in pts]
        out[key] = (min(vs), max(vs), round(sum(vs), 6), len(vs), pts[0][1], pts[-1][1])
    return out


def answer(aggs: Sequence[Agg]) -> dict[Key, tuple[float, float, float, int, float, float]]:
    return {(a.ts, a.sensor): (a.min, a.max, round(a.sum, 6), a.count, a.first, a.last) for a in aggs}


async def check_all(sessions: async_sessionmaker[AsyncSession], rows: list[ReadingTuple]) -> set[str]:
    sources = set()
    lo, hi = START - timedelta(days=2), START + timedelta(days=3)
    for resolution in RESOLUTIONS:
        start, end = window_of(resolution, lo, hi, TZ)
        async with sessions() as session:
            got, source, part = await History(session, None, TZ).buckets(
                "m-a", resolution, sensor=None, start=start, end=end
            )
        assert part is None
        sources.add(source)
        expected = oracle(rows, "m-a", resolution)
        assert answer(got) == expected, f"{resolution} from {source}"
    return sources


async def test_rollups_equal_raw_answers_late_data_included(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = readings(START, 40)
    await store_readings(sessions, rows)
    refresher = RollupRefresher(sessions, tz=TZ)
    end_of_data = START + timedelta(hours=40)

    # halfway: the rollups hold what lies before the watermark, the rest comes from raw readings
    half = await refresher.refresh(START + timedelta(hours=20, minutes=1))
    while half.behind_s > 0:
        half = await refresher.refresh(START + timedelta(hours=20, minutes=1))
    assert half.watermark is not None and START < half.watermark < end_of_data
    assert "rollup:10s+raw" in await check_all(sessions, rows)

    # all of it
    now = end_of_data + timedelta(hours=2)
    while (await refresher.refresh(now)).behind_s > 0:
        pass
    assert await check_all(sessions, rows) >= {"rollup:10s", "rollup:1m", "rollup:1h", "rollup:1d"}

    # late readings behind the watermark: a new extreme, a new first and last of their buckets, a bad one,
    # a bucket that had nothing, and a reading on the other machine
    late: list[ReadingTuple] = [
        ("m-a", "temp", START + timedelta(hours=3, seconds=0.001), 1e6, "good"),
        ("m-a", "temp", START + timedelta(hours=3, minutes=59, seconds=59.999), -1e6, "good"),
        ("m-a", "rpm", START + timedelta(hours=30, seconds=3), 123.0, "bad"),
        ("m-a", "vibration", START + timedelta(hours=10), 4.2, "good"),
        ("m-b", "temp", START + timedelta(hours=5), 7.0, "good"),
    ]
    await store_readings(sessions, late)
    async with sessions() as session:
        marked = (await session.execute(text("SELECT count(*) FROM rollup_dirty"))).scalar()
    assert marked == 5
    before = await refresher.refresh(now)
    assert before.dirty == 5
    await check_all(sessions, rows + late)
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM rollup_dirty"))).scalar() == 0


async def test_a_redelivered_batch_inserts_nothing_twice_into_partitions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)  # today's partition
    rows = readings(noon, 0.1, every_s=1.0)
    half = len(rows) // 2
    assert await store_readings(sessions, rows[:half]) == half  # COPY straight into the table
    assert await store_readings(sessions, rows) == len(rows) - half  # some stored: the staging path
    assert await store_readings(sessions, rows) == 0  # ON CONFLICT DO NOTHING across partitions
    async with sessions() as session:
        stored = await session.execute(text("SELECT count(*) FROM readings WHERE ts >= :t"), {"t": noon})
        assert stored.scalar_one() == len(rows)
    async with sessions() as session:
        where = (
            (
                await session.execute(
                    text("SELECT DISTINCT tableoid::regclass::text FROM reading_rows WHERE ts >= :t"),
                    {"t": noon},
                )
            )
            .scalars()
            .all()
        )
    assert all(w.startswith("reading_rows_p") for w in where), where  # today's daily partition (not default)


async def test_partitions_are_kept_ahead_and_rollups_trimmed_by_their_own_retention(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    svc = LifecycleService(sessions, ArchiveStore(str(tmp_path)), LifecycleConfig(ahead_days=3))
    today = datetime.now(UTC).date()
    later = datetime.now(UTC) + timedelta(days=20)
    created = await svc.ensure_partitions(later)
    expected = {
        f"{t}_p{later.date() + timedelta(days=i):%Y%m%d}" for t in parts.PARTITIONED for i in range(4)
    }
    assert expected <= set(created)
    assert await svc.ensure_partitions(later) == []  # nothing twice

    old_day = today - timedelta(days=40)  # past the 10s retention (30 days), within the 1h one
    async with sessions() as session, session.begin():
        await parts.ensure_days(session, "readings_10s", [old_day])
        for table, bucket in (
            ("readings_10s", datetime(old_day.year, old_day.month, old_day.day, 1, tzinfo=UTC)),
            ("readings_1h", datetime(old_day.year, old_day.month, old_day.day, 1, tzinfo=UTC)),
            ("readings_1h", datetime.now(UTC) - timedelta(days=2000)),  # past the 1h retention (1825 days)
        ):
            await session.execute(
                text(f"INSERT INTO {table} VALUES ('m', 's', :b, 1, 1, 1, 1, 1, 1)"),
                {"b": bucket},
            )
    trimmed = await svc.trim_rollups(datetime.now(UTC))
    assert trimmed["10s"] >= 1 and trimmed["1h"] == 1
    async with sessions() as session:
        names = {p.name for p in await parts.partitions(session, "readings_10s")}
        left = (await session.execute(text("SELECT count(*) FROM readings_1h"))).scalar()
    assert f"readings_10s_p{old_day:%Y%m%d}" not in names
    assert left == 1  # the 40-day-old hourly bucket stays
