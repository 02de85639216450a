"""Every SQL statement about readings. Bulk insert is idempotent: on PostgreSQL a COPY straight into the
table, and when a row of the batch is already stored (a redelivery), COPY into a staging table, then
INSERT ... ON CONFLICT DO NOTHING; INSERT OR IGNORE on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import (
    UTCDateTime,
    asyncpg_of,
    copy_if_new,
    dialect_name,
    has_timescaledb,
    insert_new,
    newest_per_group,
)
from dtwin.readings.models import ReadingRow

# (machine_id, sensor, ts, value, quality)
ReadingTuple = tuple[str, str, datetime, float, str]

READING_COLUMNS = ("machine_id", "sensor", "ts", "value", "quality")  # a ReadingTuple's order


ROLLUP_TABLES = ("readings_10s", "readings_1m", "readings_1h", "readings_1d", "rollup_dirty")
# late readings (stamped more than 30 s before this transaction began) mark their 10-second buckets dirty
MARK_LATE = (
    "INSERT INTO rollup_dirty (machine_id, sensor, bucket) SELECT DISTINCT machine_id, sensor, "
    "date_bin(INTERVAL '10 seconds', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') FROM readings_stage "
    "WHERE ts < now() - INTERVAL '30 seconds' ON CONFLICT DO NOTHING"
)
# the same for rows copied straight into the table: the candidates come as arrays
MARK_LATE_ROWS = (
    "INSERT INTO rollup_dirty (machine_id, sensor, bucket) SELECT DISTINCT machine_id, sensor, "
    "date_bin(INTERVAL '10 seconds', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') "
    "FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(machine_id, sensor, ts) "
    "WHERE ts < now() - INTERVAL '30 seconds' ON CONFLICT DO NOTHING"
)
LATE_CANDIDATE_S = 20.0  # this process's clock is at or after the transaction's start: a superset of late


class ReadingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_many(self, rows: Sequence[ReadingTuple]) -> int:
        """Insert rows, ignoring ones already stored (same machine, sensor and ts). Returns rows inserted
        (PostgreSQL) or rows offered (SQLite). Where the rollup refresher keeps the rollups (plain
        PostgreSQL), readings stamped well before now are marked for it in the same transaction (late data:
        dtwin.lifecycle.refresher)."""
        if dialect_name(self.session) != "postgresql":
            return await insert_new(self.session, ReadingRow, READING_COLUMNS, rows)
        refreshed = await self._rollups_refreshed()
        copied = await copy_if_new(self.session, ReadingRow, READING_COLUMNS, rows)
        if copied is None:  # some were stored already: the staging path skips those
            mark = MARK_LATE if refreshed else None
            return await insert_new(self.session, ReadingRow, READING_COLUMNS, rows, after_merge=mark)
        if refreshed:
            await self._mark_late(rows)
        return copied

    async def _mark_late(self, rows: Sequence[ReadingTuple]) -> None:
        """MARK_LATE for rows copied straight into the table (usually none is late: nothing to send)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=LATE_CANDIDATE_S)
        late = [r for r in rows if r[2] < cutoff]
        if not late:
            return
        driver = await asyncpg_of(self.session)
        await driver.execute(MARK_LATE_ROWS, [r[0] for r in late], [r[1] for r in late], [r[2] for r in late])

    async def _rollups_refreshed(self) -> bool:
        return dialect_name(self.session) == "postgresql" and not await has_timescaledb(self.session)

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
        """Delete a machine's readings and (where the refresher keeps them) its rollups."""
        result = await self.session.execute(delete(ReadingRow).where(ReadingRow.machine_id == machine_id))
        if await self._rollups_refreshed():
            for table in ROLLUP_TABLES:
                await self.session.execute(
                    text(f"DELETE FROM {table} WHERE machine_id = :m"),  # noqa: S608
                    {"m": machine_id},
                )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count(self, machine_id: str | None = None) -> int:
        q = select(func.count()).select_from(ReadingRow)
        if machine_id is not None:
            q = q.where(ReadingRow.machine_id == machine_id)
        return int((await self.session.execute(q)).scalar_one())

    async def state_at(self, machine_id: str, at: datetime) -> list[ReadingRow]:
        """Each sensor's newest reading at or before `at`."""
        q = newest_per_group(
            self.session,
            [ReadingRow],
            keys=[ReadingRow.sensor],
            newest=ReadingRow.ts,
            where=[ReadingRow.machine_id == machine_id, ReadingRow.ts <= at],
        )
        return list((await self.session.scalars(q)).all())

    async def latest_per_sensor(self, since: datetime) -> dict[str, dict[str, tuple[float, datetime]]]:
        """machine -> sensor -> (value, ts) of each sensor's newest reading since `since`, for every machine
        (what a twin rebuild restores)."""
        q = newest_per_group(
            self.session,
            [ReadingRow.machine_id, ReadingRow.sensor, ReadingRow.value, ReadingRow.ts],
            keys=[ReadingRow.machine_id, ReadingRow.sensor],
            newest=ReadingRow.ts,
            where=[ReadingRow.ts >= since],
        )
        rows = await self.session.execute(q)
        out: dict[str, dict[str, tuple[float, datetime]]] = {}
        for machine_id, sensor, value, ts in rows:
            t = ts if isinstance(ts, datetime) else datetime.fromisoformat(ts)
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
            out.setdefault(machine_id, {})[sensor] = (float(value), t)
        return out

    async def count_sensor(
        self, machine_ids: Sequence[str], sensor: str, start: datetime, end: datetime
    ) -> int:
        q = (
            select(func.count())
            .select_from(ReadingRow)
            .where(
                ReadingRow.machine_id.in_(list(machine_ids)),
                ReadingRow.sensor == sensor,
                ReadingRow.ts >= start,
                ReadingRow.ts < end,
            )
        )
        return int(await self.session.scalar(q) or 0)

    async def sensor_rows(
        self, machine_ids: Sequence[str], sensor: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, float]]:
        """(machine, ts, value) of one sensor of these machines in [start, end), by machine and time."""
        q = (
            select(ReadingRow.machine_id, ReadingRow.ts, ReadingRow.value)
            .where(
                ReadingRow.machine_id.in_(list(machine_ids)),
                ReadingRow.sensor == sensor,
                ReadingRow.ts >= start,
                ReadingRow.ts < end,
                ReadingRow.quality != "bad",
            )
            .order_by(ReadingRow.machine_id, ReadingRow.ts)
        )
        return [(m, ts, float(v)) for m, ts, v in (await self.session.execute(q)).all()]

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
