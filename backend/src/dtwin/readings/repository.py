"""Every SQL statement about readings. Bulk insert is idempotent: COPY into a staging table, then
INSERT ... ON CONFLICT DO NOTHING on PostgreSQL; INSERT OR IGNORE on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import dialect_name
from dtwin.readings.models import ReadingRow

# (machine_id, sensor, ts, value, quality)
ReadingTuple = tuple[str, str, datetime, float, str]

_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS readings_stage "
    "(machine_id text, sensor text, ts timestamptz, value double precision, quality text) "
    "ON COMMIT DELETE ROWS"
)
_STAGE_MERGE = (
    "INSERT INTO readings (machine_id, sensor, ts, value, quality) "
    "SELECT machine_id, sensor, ts, value, quality FROM readings_stage "
    "ON CONFLICT DO NOTHING"
)


class ReadingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_many(self, rows: Sequence[ReadingTuple]) -> int:
        """Insert rows, ignoring ones already stored (same machine, sensor and ts). Returns rows inserted
        (PostgreSQL) or rows offered (SQLite)."""
        if not rows:
            return 0
        dialect = dialect_name(self.session)
        if dialect == "postgresql":
            # DDL and merge go through SQLAlchemy so they run inside the session's transaction; only the
            # COPY itself uses the asyncpg connection directly
            conn = await self.session.connection()
            await conn.exec_driver_sql(_STAGE_DDL)
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.copy_records_to_table(
                "readings_stage", records=rows, columns=["machine_id", "sensor", "ts", "value", "quality"]
            )
            result = await conn.exec_driver_sql(_STAGE_MERGE)
            await conn.exec_driver_sql("TRUNCATE readings_stage")
            return int(result.rowcount)
        stmt = sqlite_insert(ReadingRow).on_conflict_do_nothing()
        await self.session.execute(
            stmt,
            [{"machine_id": m, "sensor": s, "ts": t, "value": v, "quality": q} for m, s, t, v, q in rows],
        )
        return len(rows)

    async def recent(
        self, machine_id: str, *, sensor: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[ReadingRow]:
        """The newest `limit` readings in [start, end], returned oldest first."""
        q = select(ReadingRow).where(ReadingRow.machine_id == machine_id)
        if sensor is not None:
            q = q.where(ReadingRow.sensor == sensor)
        if start is not None:
            q = q.where(ReadingRow.ts >= start)
        if end is not None:
            q = q.where(ReadingRow.ts <= end)
        q = q.order_by(ReadingRow.ts.desc(), ReadingRow.sensor).limit(limit)
        rows = list((await self.session.scalars(q)).all())
        rows.reverse()
        return rows

    async def count(self, machine_id: str | None = None) -> int:
        q = select(func.count()).select_from(ReadingRow)
        if machine_id is not None:
            q = q.where(ReadingRow.machine_id == machine_id)
        return int((await self.session.execute(q)).scalar_one())
