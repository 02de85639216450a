"""Readings on real PostgreSQL: the COPY + ON CONFLICT path is idempotent and range queries are right."""

from datetime import UTC, datetime, timedelta

from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.readings.repository import ReadingRepository

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_bulk_insert_is_idempotent_and_queries_by_window(pg_url: str, uid: str) -> None:
    engine = create_engine(pg_url)
    sessions = create_sessionmaker(engine)
    machine = f"m-{uid}"
    rows = [(machine, s, T0 + timedelta(seconds=i), float(i), "good") for i in range(100) for s in ("a", "b")]
    try:
        async with transaction(sessions) as s:
            assert await ReadingRepository(s).insert_many(rows) == 200
        async with transaction(sessions) as s:  # redelivery of an overlapping batch
            assert await ReadingRepository(s).insert_many(rows[150:] + rows[:10]) == 0
        async with transaction(sessions) as s:
            repo = ReadingRepository(s)
            assert await repo.count(machine) == 200
            got = await repo.recent(
                machine, sensor="a", start=T0 + timedelta(seconds=10), end=T0 + timedelta(seconds=19), limit=5
            )
            assert [r.value for r in got] == [15.0, 16.0, 17.0, 18.0, 19.0]
            assert got[0].ts == T0 + timedelta(seconds=15) and got[0].ts.tzinfo is not None
    finally:
        await engine.dispose()


async def test_migration_created_a_plain_table_with_brin_index_without_timescaledb(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            from sqlalchemy import text

            has_tsdb = (
                await conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"))
            ).scalar_one()
            idx = (
                await conn.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes "
                        "WHERE tablename = 'reading_rows' AND indexname = 'ix_reading_rows_ts_brin'"
                    )
                )
            ).scalar_one_or_none()
        if has_tsdb:
            assert idx is None
        else:
            assert idx is not None and "brin" in idx
    finally:
        await engine.dispose()
