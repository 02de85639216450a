"""Archival of raw readings: one UTC day at a time, export -> verify -> drop, each step recorded, so a crash
anywhere loses nothing (the day's rows leave the database only after the file was read back and matched).

1. **Export**: the day's rows are copied out of the database (PostgreSQL COPY as CSV into a temporary file,
   parsed by pyarrow in batches, so memory stays bounded) into `readings/YYYY/MM/DAY.parquet` (zstd) and
   its manifest (rows, bytes, sha256, content digest). The row is recorded as `exported`.
2. **Verify**: the stored file is read back: its sha256 and size and the digest of its rows must match the
   manifest. Recorded as `verified`.
3. **Drop**: in one transaction, writes to the day's partitions are blocked (LOCK ... IN SHARE MODE), the
   day's rows are counted again and must equal the manifest's count (a late reading since the export sends
   the day back to step 1 next time), then the day's partition is dropped (or its rows deleted from a
   partition spanning more days, and on SQLite). Recorded as `dropped`.

A crash between steps leaves the day in the database with an `exported`/`verified` row: the next run
exports it again (overwriting the file) and carries on. Restore reads a verified file back (COPY into a
staging table, ON CONFLICT DO NOTHING) and checks the database's digest of the day against the manifest."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import asyncpg_of, dialect_name, has_timescaledb, transaction, ts_text
from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.models import ArchivedDayRow
from dtwin.readings.archive import SCHEMA, ArchiveError, ArchiveStore, Digest, Manifest
from dtwin.readings.service import RAW_TABLE, READING_COLUMNS, insert_unmarked, readings_between

log = structlog.get_logger(__name__)

CSV_READ = pcsv.ReadOptions(column_names=SCHEMA.names, block_size=8 * 1024 * 1024)
CSV_CONVERT = pcsv.ConvertOptions(column_types={f.name: f.type for f in SCHEMA})
COPY_DAY = (
    "SELECT machine_id, sensor, ts, value, quality FROM readings WHERE ts >= $1 AND ts < $2 "
    "ORDER BY machine_id, sensor, ts"
)
RESTORE_CHUNK = 200_000


@dataclass(frozen=True, slots=True)
class Archived:
    day: date
    rows: int
    bytes: int
    removed: str  # "drop" (partition), "delete" (rows), or "" when the drop was refused
    seconds: float
    reason: str = ""


class DayChanged(Exception):
    """The day's rows changed between export and drop (the count differs): export again."""


def csv_batches(path: str) -> Iterator[pa.RecordBatch]:
    if os.path.getsize(path) == 0:
        return
    with pcsv.open_csv(path, read_options=CSV_READ, convert_options=CSV_CONVERT) as reader:
        yield from reader


class Archiver:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], store: ArchiveStore) -> None:
        self.sessions, self.store = sessions, store

    # --- reading a day out of the database -------------------------------------------------------------

    @asynccontextmanager
    async def _day_csv(self, day: date) -> AsyncIterator[str]:
        """The day's rows as a PostgreSQL CSV file (removed afterwards)."""
        lo, hi = parts.day_bounds(day)
        with tempfile.TemporaryDirectory(prefix="dtwin-export-") as tmp:
            path = str(Path(tmp) / "day.csv")
            async with self.sessions() as session, session.begin():
                await session.execute(text("SET LOCAL TimeZone = 'UTC'"))
                driver = await asyncpg_of(session)
                await driver.copy_from_query(COPY_DAY, lo, hi, output=path, format="csv")
            yield path

    async def _sqlite_batches(self, day: date) -> list[pa.RecordBatch]:
        lo, hi = parts.day_bounds(day)
        async with self.sessions() as session:
            rows = await readings_between(session, lo, hi)
        if not rows:
            return []
        cols = list(zip(*rows, strict=True))
        arrays = [pa.array(c, type=f.type) for c, f in zip(cols, SCHEMA, strict=True)]
        return [pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)]

    async def _postgres(self) -> bool:
        async with self.sessions() as session:
            return dialect_name(session) == "postgresql"

    async def db_digest(self, day: date) -> str:
        """The content digest of the day's rows in the database."""
        if not await self._postgres():
            d = Digest()
            for b in await self._sqlite_batches(day):
                d.update(b)
            return d.hexdigest()
        async with self._day_csv(day) as path:

            def run() -> str:
                d = Digest()
                for b in csv_batches(path):
                    d.update(b)
                return d.hexdigest()

            return await asyncio.to_thread(run)

    async def count(self, session: AsyncSession, day: date) -> int:
        lo, hi = parts.day_bounds(day)
        return int(
            (
                await session.execute(
                    ts_text("SELECT count(*) FROM readings WHERE ts >= :lo AND ts < :hi", "lo", "hi"),
                    {"lo": lo, "hi": hi},
                )
            ).scalar()
            or 0
        )

    # --- the three steps ---------------------------------------------------------------------------------

    async def export(self, day: date) -> Manifest:
        if await self._postgres():
            async with self._day_csv(day) as path:
                manifest = await asyncio.to_thread(self.store.write, day, csv_batches(path))
        else:
            batches = await self._sqlite_batches(day)
            manifest = await asyncio.to_thread(self.store.write, day, iter(batches))
        await self._record(day, "exported", manifest)
        return manifest

    async def verify(self, day: date) -> Manifest:
        manifest = await asyncio.to_thread(self.store.verify, day)
        await self._record(day, "verified", manifest)
        return manifest

    async def drop(self, day: date, manifest: Manifest) -> str:
        """Remove the day's rows if they are still exactly what was exported. Raises DayChanged."""
        async with transaction(self.sessions) as session:
            postgres = dialect_name(session) == "postgresql"
            timescale = postgres and await has_timescaledb(session)
            if postgres and not timescale:
                await parts.lock_day(session, RAW_TABLE, day)
            found = await self.count(session, day)
            if found != manifest.rows:
                raise DayChanged(f"{day}: {found} rows in the database, {manifest.rows} exported")
            if timescale:  # daily chunks: the day's chunk goes whole (untested here)
                lo, hi = parts.day_bounds(day)
                await session.execute(
                    text("SELECT drop_chunks('readings', older_than => :hi, newer_than => :lo)"),
                    {"lo": lo, "hi": hi},
                )
                how = "drop_chunks"
            elif postgres:
                how, _ = await parts.remove_day(session, RAW_TABLE, day)
            else:
                lo, hi = parts.day_bounds(day)
                await session.execute(
                    ts_text("DELETE FROM readings WHERE ts >= :lo AND ts < :hi", "lo", "hi"),
                    {"lo": lo, "hi": hi},
                )
                how = "delete"
            row = await session.get(ArchivedDayRow, day)
            if row is not None:
                row.state, row.dropped_at = "dropped", datetime.now(UTC)
        return how

    async def archive_day(self, day: date) -> Archived:
        t0 = asyncio.get_running_loop().time()
        manifest = await self.export(day)
        await self.verify(day)
        try:
            how = await self.drop(day, manifest)
        except DayChanged as exc:
            log.warning("archive_day_changed", day=str(day), reason=str(exc))
            return Archived(
                day, manifest.rows, manifest.bytes, "", asyncio.get_running_loop().time() - t0, str(exc)
            )
        elapsed = asyncio.get_running_loop().time() - t0
        log.info(
            "archived_day",
            day=str(day),
            rows=manifest.rows,
            bytes=manifest.bytes,
            removed=how,
            seconds=elapsed,
        )
        return Archived(day, manifest.rows, manifest.bytes, how, elapsed)

    async def restore(self, day: date) -> Manifest:
        """Read an archived day back into the database (verified first, digest checked after)."""
        manifest = await asyncio.to_thread(self.store.verify, day)
        async with transaction(self.sessions) as session:
            if dialect_name(session) == "postgresql":
                await parts.ensure_days(session, RAW_TABLE, [day])
        batches = await asyncio.to_thread(lambda: list(self.store.batches(day)))
        for batch in batches:
            for off in range(0, batch.num_rows, RESTORE_CHUNK):
                chunk = batch.slice(off, RESTORE_CHUNK)
                cols = [chunk.column(n).to_pylist() for n in READING_COLUMNS]
                rows = list(zip(*cols, strict=True))
                async with transaction(self.sessions) as session:
                    # straight into the table: the rollups already hold these readings
                    await insert_unmarked(session, rows)
        found = await self.db_digest(day)
        if found != manifest.digest:
            raise ArchiveError(
                f"{day}: restored rows do not match the manifest ({found} != {manifest.digest})"
            )
        async with transaction(self.sessions) as session:
            row = await session.get(ArchivedDayRow, day)
            if row is not None:
                row.state, row.restored_at = "restored", datetime.now(UTC)
        return manifest

    async def _record(self, day: date, state: str, m: Manifest) -> None:
        async with transaction(self.sessions) as session:
            row = await session.get(ArchivedDayRow, day)
            if row is None:
                row = ArchivedDayRow(day=day)
                session.add(row)
            row.state, row.rows, row.bytes, row.sha256, row.digest = (
                state,
                m.rows,
                m.bytes,
                m.sha256,
                m.digest,
            )
            row.uri, row.exported_at = self.store.uri(day), m.created_at
            if state == "exported":
                row.dropped_at = None

    # --- which days are due ------------------------------------------------------------------------------

    async def due_days(
        self, cutoff: date, *, keep_restored: timedelta, now: datetime, limit: int
    ) -> list[date]:
        """Days before `cutoff` that may still hold raw readings, oldest first: on PostgreSQL the days of
        daily partitions before the cutoff (empty ones too: they are simply dropped) and the days with rows
        in the legacy and default partitions; on SQLite the days with rows. Days restored less than
        `keep_restored` ago stay."""
        hi = parts.day_bounds(cutoff)[0]
        async with self.sessions() as session:
            restored = {
                r.day
                for r in (
                    await session.scalars(select(ArchivedDayRow).where(ArchivedDayRow.state == "restored"))
                )
                if r.restored_at is not None and r.restored_at > now - keep_restored
            }
            days: set[date] = set()
            if dialect_name(session) == "postgresql":
                for p in await parts.partitions(session, RAW_TABLE):
                    if (
                        p.lo is not None
                        and p.hi is not None
                        and not p.default
                        and p.hi - p.lo == timedelta(days=1)
                    ):
                        if p.hi <= hi:
                            days.add(p.lo.date())
                    else:
                        days |= await self._days_with_rows(session, p.name, hi, limit)
            else:
                days = await self._days_with_rows(session, "readings", hi, limit + len(restored))
        return sorted(d for d in days if d not in restored)[:limit]

    @staticmethod
    async def _days_with_rows(session: AsyncSession, table: str, hi: datetime, limit: int) -> set[date]:
        """Up to `limit` days with rows in `table` before `hi`, jumping from one row's day to the next."""
        out: set[date] = set()
        cursor: datetime | None = None
        while len(out) < limit:
            q = f"SELECT min(ts) FROM {table} WHERE ts < :hi" + (" AND ts >= :cur" if cursor else "")  # noqa: S608
            names = ("hi", "cur") if cursor else ("hi",)
            found = (await session.execute(ts_text(q, *names), {"hi": hi, "cur": cursor})).scalar()
            if found is None:
                break
            ts = found if isinstance(found, datetime) else datetime.fromisoformat(str(found))
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
            out.add(ts.astimezone(UTC).date())
            cursor = parts.day_bounds(ts.astimezone(UTC).date())[1]
        return out
