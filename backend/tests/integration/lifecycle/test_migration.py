"""Migrations 0013 and 0020 on an installation that already has readings: the table becomes the legacy
partition (0013), then its rows move to one row per machine-instant in `reading_rows` with the same
partitions (0020) without losing a reading, new days get partitions, redelivery stays idempotent, and the
lifecycle works across the legacy partition (archival deletes a day from it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy import text

from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.migrate import alembic_config, upgrade
from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.service import LifecycleConfig, LifecycleService
from dtwin.readings.archive import ArchiveStore
from dtwin.readings.service import store_readings

from .conftest import _dsn, drop_database, fresh_database, readings


async def test_an_existing_readings_table_becomes_the_legacy_partition(pg_url: str, tmp_path: Path) -> None:
    url = await fresh_database(pg_url, "0012_alarms")
    try:
        old = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=40)
        rows = readings(old + timedelta(hours=1), 30, every_s=30.0)
        conn = await asyncpg.connect(_dsn(url))
        try:
            await conn.copy_records_to_table(
                "readings", records=rows, columns=["machine_id", "sensor", "ts", "value", "quality"]
            )
            assert await conn.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'readings'") == "r"
        finally:
            await conn.close()

        await upgrade(url)

        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        try:
            async with sessions() as session:
                listed = await parts.partitions(session, "reading_rows")
                kept = (
                    await session.execute(
                        text("SELECT count(*) FROM readings WHERE ts < now() - interval '1 day'")
                    )
                ).scalar()
                stored = (await session.execute(text("SELECT count(*) FROM reading_rows_legacy"))).scalar()
                same = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM readings WHERE (machine_id, sensor, ts, value, quality) IN "
                            "(SELECT * FROM unnest(CAST(:m AS text[]), CAST(:s AS text[]), CAST(:t AS timestamptz[]), "
                            "CAST(:v AS float8[]), CAST(:q AS text[])))"
                        ),
                        {
                            "m": [r[0] for r in rows],
                            "s": [r[1] for r in rows],
                            "t": [r[2] for r in rows],
                            "v": [r[3] for r in rows],
                            "q": [r[4] for r in rows],
                        },
                    )
                ).scalar()
            legacy = next(p for p in listed if p.name == "reading_rows_legacy")
            tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
                days=1
            )
            assert legacy.lo is None and legacy.hi == tomorrow
            assert kept == len(rows) and same == len(rows)  # every reading, value for value
            assert 0 < stored < len(rows)  # one row per machine-instant
            assert any(p.name == f"reading_rows_p{tomorrow:%Y%m%d}" for p in listed)
            assert any(p.default for p in listed)
            assert (
                await store_readings(sessions, rows[:10]) == 0
            )  # already there: ON CONFLICT across partitions
            fresh = [("m-new", "temp", tomorrow + timedelta(hours=2), 1.0, "good")]
            assert await store_readings(sessions, fresh) == 1

            svc = LifecycleService(
                sessions, ArchiveStore(str(tmp_path / "a")), LifecycleConfig(max_age_s=30 * 86400)
            )
            done = await svc.maintain()
            assert [(a.day, a.removed) for a in done] == [
                (old.date(), "delete"),
                ((old + timedelta(days=1)).date(), "delete"),
            ]
            assert sum(a.rows for a in done) == len(rows)
            async with sessions() as session:
                assert (await session.execute(text("SELECT count(*) FROM reading_rows_legacy"))).scalar() == 0
        finally:
            await engine.dispose()
    finally:
        await drop_database(pg_url, url)


async def test_the_wide_layout_round_trips_every_reading_up_and_down(pg_url: str) -> None:
    """0020 up: the view gives back exactly the readings the narrow table held (values, qualities, partitions
    by day); 0020 down: the narrow table holds them again."""
    url = await fresh_database(pg_url, "0019_report_leases")
    query = "SELECT machine_id, sensor, ts, value, quality FROM readings ORDER BY 1, 2, 3"
    try:
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        conn = await asyncpg.connect(_dsn(url))
        try:
            await conn.execute(
                "INSERT INTO readings SELECT 'm-' || m, 's' || s, $1::timestamptz + i * interval '10 seconds', "
                "m * 1000 + i + s / 10.0, CASE WHEN s = 3 AND i % 7 = 0 THEN 'bad' ELSE 'good' END "
                "FROM generate_series(0, 4) m, generate_series(0, 199) i, generate_series(0, 4) s "
                "WHERE NOT (s = 4 AND i % 5 = 0)",  # some instants lack a sensor: other sensor sets
                day,
            )
            before = [tuple(r) for r in await conn.fetch(query)]
        finally:
            await conn.close()
        await upgrade(url)
        conn = await asyncpg.connect(_dsn(url))
        try:
            assert [tuple(r) for r in await conn.fetch(query)] == before
            assert await conn.fetchval("SELECT count(*) FROM reading_rows") == 5 * 200
            assert await conn.fetchval("SELECT count(*) FROM sensor_sets") == 2
        finally:
            await conn.close()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0019_report_leases")
        conn = await asyncpg.connect(_dsn(url))
        try:
            assert await conn.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'readings'") == "p"
            assert [tuple(r) for r in await conn.fetch(query)] == before
        finally:
            await conn.close()
    finally:
        await drop_database(pg_url, url)
