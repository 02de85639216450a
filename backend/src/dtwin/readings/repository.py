"""Every SQL statement about readings. Readers query `readings` (machine_id, sensor, ts, value, quality): a
table on SQLite and TimescaleDB, a view over `reading_rows` (one row per machine-instant) on plain
PostgreSQL, where writes go through dtwin.readings.wide. Bulk insert is idempotent: on PostgreSQL a COPY
straight into the table, and when a row of the batch is already stored (a redelivery), COPY into a staging
table, then INSERT ... ON CONFLICT DO NOTHING; INSERT OR IGNORE on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, case, delete, func, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import (
    UTCDateTime,
    copy_if_new,
    dialect_name,
    has_timescaledb,
    insert_new,
    newest_per_group,
)
from dtwin.readings.models import ReadingRow
from dtwin.readings.wide import RAW_TABLE, Instant, insert_instants, instants_of, reading_tuples

# (machine_id, sensor, ts, value, quality)
ReadingTuple = tuple[str, str, datetime, float, str]

READING_COLUMNS = ("machine_id", "sensor", "ts", "value", "quality")  # a ReadingTuple's order


ROLLUP_TABLES = ("readings_10s", "readings_1m", "readings_1h", "readings_1d", "rollup_dirty")


class ReadingRepository:
    # where the refresher keeps the rollups (plain PostgreSQL), inserts mark late readings' buckets dirty;
    # `bench-lifecycle` switches it off to measure what the marks cost
    marks_late = True

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_many(self, rows: Sequence[ReadingTuple], *, mark_late: bool = True) -> int:
        """Insert rows, ignoring ones already stored (same machine, sensor and ts; on plain PostgreSQL the
        same machine, instant and sensor set). Returns rows inserted (PostgreSQL) or rows offered (SQLite).
        On plain PostgreSQL readings stamped well before now are marked for the rollup refresher in the same
        transaction (late data: dtwin.lifecycle.refresher) unless `mark_late` is False (a restore of
        readings the rollups already hold)."""
        if await self.wide():
            marks = mark_late and self.marks_late
            return await insert_instants(self.session, instants_of(rows), mark_late=marks)
        return await self._insert_narrow(rows)

    async def insert_instants(self, instants: Sequence[Instant]) -> int:
        """`insert_many` for readings grouped by machine and instant (the consumer's messages)."""
        if await self.wide():
            return await insert_instants(self.session, instants, mark_late=self.marks_late)
        return await self._insert_narrow(reading_tuples(instants))

    async def wide(self) -> bool:
        """Plain PostgreSQL: readings stored one row per machine-instant (migration 0020) and rollups kept by
        the refresher; TimescaleDB and SQLite have the narrow table."""
        return dialect_name(self.session) == "postgresql" and not await has_timescaledb(self.session)

    async def _insert_narrow(self, rows: Sequence[ReadingTuple]) -> int:
        if dialect_name(self.session) != "postgresql":
            return await insert_new(self.session, ReadingRow, READING_COLUMNS, rows)
        copied = await copy_if_new(self.session, ReadingRow, READING_COLUMNS, rows)
        if copied is None:  # some were stored already: the staging path skips those
            return await insert_new(self.session, ReadingRow, READING_COLUMNS, rows)
        return copied

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
        wide = await self.wide()
        if wide:
            result = await self.session.execute(
                text(f"DELETE FROM {RAW_TABLE} WHERE machine_id = :m"),  # noqa: S608
                {"m": machine_id},
            )
        else:
            result = await self.session.execute(delete(ReadingRow).where(ReadingRow.machine_id == machine_id))
        if wide:  # the refresher's rollups
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

    async def window_means(
        self, machine_id: str, sensors: Sequence[str], windows: Sequence[tuple[datetime, datetime]]
    ) -> dict[tuple[int, str], tuple[float, int]]:
        """(window index, sensor) -> (mean, count) of one machine's readings in each [start, end) window
        (quality "bad" left out), in one statement; windows must not overlap."""
        if not windows or not sensors:
            return {}
        ts = ReadingRow.ts
        k = case(*((and_(ts >= a, ts < b), literal(i)) for i, (a, b) in enumerate(windows))).label("k")
        q = (
            select(k, ReadingRow.sensor, func.avg(ReadingRow.value), func.count())
            .where(
                ReadingRow.machine_id == machine_id,
                ReadingRow.sensor.in_(list(sensors)),
                ReadingRow.quality != "bad",
                or_(*(and_(ts >= a, ts < b) for a, b in windows)),
            )
            .group_by(k, ReadingRow.sensor)
        )
        rows = (await self.session.execute(q)).all()
        return {(int(i), str(sensor)): (float(mean), int(n)) for i, sensor, mean, n in rows if i is not None}

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
