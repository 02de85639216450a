"""Every SQL statement about readings. Bulk insert is idempotent: COPY into a staging table, then
INSERT ... ON CONFLICT DO NOTHING on PostgreSQL; INSERT OR IGNORE on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import UTCDateTime, bucket_sql, dialect_name
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


@dataclass(frozen=True, slots=True)
class BucketRow:
    ts: datetime
    sensor: str
    min: float
    max: float
    avg: float
    count: int


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

    async def delete_machine(self, machine_id: str) -> int:
        result = await self.session.execute(delete(ReadingRow).where(ReadingRow.machine_id == machine_id))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count(self, machine_id: str | None = None) -> int:
        q = select(func.count()).select_from(ReadingRow)
        if machine_id is not None:
            q = q.where(ReadingRow.machine_id == machine_id)
        return int((await self.session.execute(q)).scalar_one())

    async def buckets(
        self, machine_id: str, *, bucket: str, sensor: str | None, start: datetime, end: datetime, limit: int
    ) -> list[BucketRow]:
        """min/max/avg/count per time bucket and sensor in [start, end], oldest first."""
        expr = await bucket_sql(self.session, bucket)
        where = "machine_id = :m AND ts >= :start AND ts <= :end" + (
            " AND sensor = :sensor" if sensor else ""
        )
        sql = text(
            f"SELECT {expr} AS bucket, sensor, min(value), max(value), avg(value), count(*) "  # noqa: S608
            f"FROM readings WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT :limit"
        ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
        rows = await self.session.execute(
            sql, {"m": machine_id, "start": start, "end": end, "sensor": sensor, "limit": limit}
        )
        out = []
        for b, s, lo, hi, avg, n in rows:
            ts = b if isinstance(b, datetime) else datetime.fromisoformat(b)
            out.append(
                BucketRow(
                    ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC),
                    s,
                    float(lo),
                    float(hi),
                    float(avg),
                    int(n),
                )
            )
        return out

    async def state_at(self, machine_id: str, at: datetime) -> list[ReadingRow]:
        """Each sensor's newest reading at or before `at`."""
        if dialect_name(self.session) == "postgresql":
            q = (
                select(ReadingRow)
                .where(ReadingRow.machine_id == machine_id, ReadingRow.ts <= at)
                .order_by(ReadingRow.sensor, ReadingRow.ts.desc())
                .ext(distinct_on(ReadingRow.sensor))
            )
            return list((await self.session.scalars(q)).all())
        latest = (
            select(ReadingRow.sensor, func.max(ReadingRow.ts).label("ts"))
            .where(ReadingRow.machine_id == machine_id, ReadingRow.ts <= at)
            .group_by(ReadingRow.sensor)
            .subquery()
        )
        q = (
            select(ReadingRow)
            .join(latest, (ReadingRow.sensor == latest.c.sensor) & (ReadingRow.ts == latest.c.ts))
            .where(ReadingRow.machine_id == machine_id)
            .order_by(ReadingRow.sensor)
        )
        return list((await self.session.scalars(q)).all())

    async def latest_per_sensor(self, since: datetime) -> dict[str, dict[str, tuple[float, datetime]]]:
        """machine -> sensor -> (value, ts) of each sensor's newest reading since `since`, for every machine
        (what a twin rebuild restores)."""
        if dialect_name(self.session) == "postgresql":
            sql = (
                "SELECT DISTINCT ON (machine_id, sensor) machine_id, sensor, value, ts FROM readings "
                "WHERE ts >= :since ORDER BY machine_id, sensor, ts DESC"
            )
        else:
            sql = (
                "SELECT r.machine_id, r.sensor, r.value, r.ts FROM readings r JOIN (SELECT machine_id, "
                "sensor, max(ts) AS ts FROM readings WHERE ts >= :since GROUP BY machine_id, sensor) m "
                "ON r.machine_id = m.machine_id AND r.sensor = m.sensor AND r.ts = m.ts"
            )
        stmt = text(sql).bindparams(bindparam("since", type_=UTCDateTime()))
        rows = await self.session.execute(stmt, {"since": since})
        out: dict[str, dict[str, tuple[float, datetime]]] = {}
        for machine_id, sensor, value, ts in rows:
            t = ts if isinstance(ts, datetime) else datetime.fromisoformat(ts)
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
            out.setdefault(machine_id, {})[sensor] = (float(value), t)
        return out

    async def page_after(
        self,
        *,
        start: datetime,
        end: datetime,
        machine_id: str | None,
        after: tuple[datetime, str, str] | None,
        limit: int,
    ) -> list[ReadingRow]:
        """Readings in [start, end] (of one machine, or of all) in (ts, machine_id, sensor) order, the first
        `limit` after the key `after` (keyset pagination over the whole table: pass the last row's key)."""
        q = select(ReadingRow).where(ReadingRow.ts >= start, ReadingRow.ts <= end)
        if machine_id is not None:
            q = q.where(ReadingRow.machine_id == machine_id)
        if after is not None:
            q = q.where(
                tuple_(ReadingRow.ts, ReadingRow.machine_id, ReadingRow.sensor)
                > tuple_(literal(after[0], UTCDateTime()), literal(after[1]), literal(after[2]))
            )
        q = q.order_by(ReadingRow.ts, ReadingRow.machine_id, ReadingRow.sensor).limit(limit)
        return list((await self.session.scalars(q)).all())

    async def stream(
        self,
        machine_id: str,
        *,
        sensor: str | None,
        start: datetime | None,
        end: datetime | None,
        chunk: int = 5000,
    ) -> AsyncIterator[list[ReadingRow]]:
        """All readings in the window, oldest first, in chunks (keyset pagination: memory stays bounded)."""
        last: tuple[datetime, str] | None = None
        while True:
            q = select(ReadingRow).where(ReadingRow.machine_id == machine_id)
            if sensor is not None:
                q = q.where(ReadingRow.sensor == sensor)
            if start is not None:
                q = q.where(ReadingRow.ts >= start)
            if end is not None:
                q = q.where(ReadingRow.ts <= end)
            if last is not None:
                q = q.where(
                    tuple_(ReadingRow.ts, ReadingRow.sensor)
                    > tuple_(literal(last[0], UTCDateTime()), literal(last[1]))
                )
            rows = list(
                (await self.session.scalars(q.order_by(ReadingRow.ts, ReadingRow.sensor).limit(chunk))).all()
            )
            if not rows:
                return
            yield rows
            last = (rows[-1].ts, rows[-1].sensor)
            if len(rows) < chunk:
                return
