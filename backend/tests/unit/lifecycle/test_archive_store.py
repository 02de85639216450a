"""The archive's pieces alone: the content digest, the store's manifests and checks, cutting a window at
archived days, calendar buckets; and the whole lifecycle on SQLite (embedded mode: no partitions, no
rollups, buckets of archived days aggregated from Parquet with DuckDB)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.migrate import upgrade_sync
from dtwin.lifecycle.service import LifecycleConfig, LifecycleService
from dtwin.readings.archive import SCHEMA, ArchiveError, ArchiveStore, digest_of
from dtwin.readings.history import History, segments, window_of
from dtwin.readings.rollups import align, calendar_start
from dtwin.readings.service import store_readings

T0 = datetime(2026, 11, 3, 22, 0, tzinfo=UTC)


def table(rows: list[tuple[str, str, datetime, float, str]]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(cols, SCHEMA, strict=True)], schema=SCHEMA
    )


ROWS = [("m1", "t", T0 + timedelta(seconds=i), float(i), "good") for i in range(50)] + [
    ("m2", "p", T0 + timedelta(seconds=i), -float(i), "bad") for i in range(30)
]


def test_the_digest_ignores_order_and_batching_and_sees_any_change() -> None:
    whole = digest_of([table(ROWS)])
    assert digest_of([table(ROWS[::-1])]) == whole
    assert digest_of([table(ROWS[:7]), table(ROWS[7:])]) == whole
    changed = [*ROWS[:-1], (*ROWS[-1][:3], ROWS[-1][3] + 1e-9, ROWS[-1][4])]
    assert digest_of([table(changed)]) != whole
    assert digest_of([table(ROWS[:-1])]) != whole
    swapped = [("m2", "t", *ROWS[0][2:]), *ROWS[1:]]
    assert digest_of([table(swapped)]) != whole
    assert whole.startswith(f"{len(ROWS)}:")


def test_the_store_writes_verifies_and_catches_a_changed_file(tmp_path: Path) -> None:
    store = ArchiveStore(str(tmp_path))
    day = T0.date()
    m = store.write(day, iter(table(ROWS).to_batches(max_chunksize=13)))
    assert (m.rows, m.machines, m.first_ts, m.last_ts) == (80, 2, T0, T0 + timedelta(seconds=49))
    assert store.verify(day) == m == store.manifest(day)
    assert store.read(day, machine_id="m2").num_rows == 30
    assert (
        store.read(
            day, sensors=["t"], start=T0 + timedelta(seconds=10), end=T0 + timedelta(seconds=19)
        ).num_rows
        == 10
    )
    path = Path(store.path(day))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="bytes changed"):
        store.verify(day)
    with pytest.raises(ArchiveError, match="no manifest"):
        store.verify(date(2001, 1, 1))


def test_a_window_is_cut_at_archived_days() -> None:
    lo, hi = datetime(2026, 11, 1, 12, tzinfo=UTC), datetime(2026, 11, 4, 6, tzinfo=UTC)
    cut = segments(lo, hi, [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 9)])
    assert [(s.start.day, s.start.hour, s.end.day, s.end.hour, s.archived) for s in cut] == [
        (1, 12, 2, 0, False),
        (2, 0, 3, 0, True),
        (3, 0, 4, 0, True),
        (4, 0, 4, 6, False),
    ]


def test_calendar_buckets_follow_the_plant_zone() -> None:
    tz = "Europe/Berlin"
    # 2026-10-25: summer time ends; that local day lasts 25 hours
    start = calendar_start(datetime(2026, 10, 25, 12, tzinfo=UTC), "1d", tz)
    assert start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    lo, hi = align(datetime(2026, 10, 25, 12, tzinfo=UTC), datetime(2026, 10, 25, 13, tzinfo=UTC), "1d", tz)
    assert (lo, hi - lo) == (start, timedelta(hours=25))
    assert calendar_start(datetime(2026, 10, 28, tzinfo=UTC), "1w", tz) == datetime(
        2026, 10, 25, 23, tzinfo=UTC
    )
    assert calendar_start(datetime(2026, 10, 28, tzinfo=UTC), "1mo", tz) == datetime(
        2026, 9, 30, 22, tzinfo=UTC
    )
    assert window_of(
        "15m", datetime(2026, 1, 1, 0, 7, tzinfo=UTC), datetime(2026, 1, 1, 0, 7, tzinfo=UTC), tz
    ) == (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 15, tzinfo=UTC),
    )


async def test_the_embedded_lifecycle_archives_and_answers_from_the_archive(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dtwin.db'}"
    await asyncio.to_thread(upgrade_sync, url)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        day = (datetime.now(UTC) - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = [
            ("m1", s, day + timedelta(hours=10, seconds=7 * i), float(i % 97), "good")
            for i in range(6000)
            for s in ("a", "b")
        ]
        await store_readings(sessions, rows)
        svc = LifecycleService(
            sessions, ArchiveStore(str(tmp_path / "archive")), LifecycleConfig(max_age_s=30 * 86400)
        )
        assert await svc.layout() == "sqlite" and await svc.refresh() is None
        lo, hi = day - timedelta(days=1), day + timedelta(days=2)
        async with sessions() as session:
            before, source, _ = await History(session, svc).buckets("m1", "1h", sensor=None, start=lo, end=hi)
            daily_before, _, _ = await History(session, svc).buckets(
                "m1", "1d", sensor=None, start=lo, end=hi
            )
        assert source == "raw"
        done = await svc.maintain()
        assert [(a.day, a.removed, a.rows) for a in done] == [(day.date(), "delete", len(rows))]
        async with sessions() as session:
            history = History(session, svc)
            after, source, part = await history.buckets("m1", "1h", sensor=None, start=lo, end=hi)
            daily_after, _, _ = await history.buckets("m1", "1d", sensor=None, start=lo, end=hi)
            raw, raw_part = await history.raw("m1", sensor="a", start=lo, end=hi, limit=100_000)
        assert source == "archive+raw" and part is not None and part.days == [day.date()]
        assert after == before and daily_after == daily_before
        assert len(raw) == 6000 and raw_part is not None and raw_part.rows == 6000
        async with sessions() as session:
            newest, newest_part = await History(session, svc).raw(
                "m1", sensor="a", start=lo, end=hi, limit=10
            )
        assert [v for _, _, v, _ in newest] == [float(i % 97) for i in range(5990, 6000)]
        assert newest_part is not None and newest_part.days == [day.date()]
        manifest = await svc.restore(day.date())
        assert await svc.archiver.db_digest(day.date()) == manifest.digest
    finally:
        await engine.dispose()
