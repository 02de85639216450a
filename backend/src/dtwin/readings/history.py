"""History across the database and the archive: a window is cut into segments of UTC days, each answered
from where its readings are (the database, or the archive for days whose raw readings were archived and
dropped), and the parts merged in time order. The answer says which days came from the archive.

Bucketed history comes from the rollups (which outlive the raw readings on PostgreSQL, so archived days
are still answered from them); where there are no rollups (SQLite), archived days are aggregated from their
Parquet files with DuckDB. Raw history and CSV export read archived days from Parquet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol

import duckdb
import pyarrow as pa
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import dialect_name
from dtwin.readings.archive import ArchiveStore
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.rollups import (
    Agg,
    Bucket,
    BucketReader,
    align,
    combine,
    floor_to,
    regroup,
    widen,
)

Resolution = Literal["10s", "1m", "5m", "15m", "1h", "6h", "1d", "1w", "1mo"]
# each resolution: (fixed width in seconds, or None for calendar buckets; the stored level it is read from)
RESOLUTIONS: dict[Resolution, tuple[int | None, Bucket]] = {
    "10s": (10, "10s"),
    "1m": (60, "1m"),
    "5m": (300, "1m"),
    "15m": (900, "1m"),
    "1h": (3600, "1h"),
    "6h": (21600, "1h"),
    "1d": (None, "1d"),
    "1w": (None, "1w"),
    "1mo": (None, "1mo"),
}
NOMINAL_S: dict[Resolution, int] = {
    "10s": 10,
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 21600,
    "1d": 86400,
    "1w": 7 * 86400,
    "1mo": 30 * 86400,
}
STORED_S: dict[str, int] = {"10s": 10, "1m": 60, "1h": 3600}


def auto_resolution(start: datetime, end: datetime, points: int) -> Resolution:
    """The finest resolution with at most `points` buckets in the window (per sensor)."""
    span = max((end - start).total_seconds(), 1.0)
    for name, width in NOMINAL_S.items():
        if span / width <= points:
            return name
    return "1mo"


def window_of(resolution: Resolution, start: datetime, end: datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end] widened to whole buckets of the resolution."""
    width, stored = RESOLUTIONS[resolution]
    if width is None:
        return align(start, end, stored, tz)
    return floor_to(start, width), floor_to(end, width) + timedelta(seconds=width)


class ArchiveIndex(Protocol):
    """Which days are archived (and dropped from the database), and where their files are."""

    store: ArchiveStore

    async def archived_days(self, start: datetime, end: datetime) -> list[date]: ...


@dataclass(frozen=True, slots=True)
class ArchivePart:
    """The part of an answer read from the archive."""

    days: list[date]
    rows: int  # raw readings read from the archive


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime
    archived: bool


def segments(start: datetime, end: datetime, archived: Sequence[date]) -> list[Segment]:
    """[start, end) cut at the edges of archived days, in time order."""
    out: list[Segment] = []
    cursor = start
    for day in sorted(archived):
        lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
        hi = lo + timedelta(days=1)
        lo, hi = max(lo, start), min(hi, end)
        if hi <= lo:
            continue
        if cursor < lo:
            out.append(Segment(cursor, lo, False))
        out.append(Segment(lo, hi, True))
        cursor = hi
    if cursor < end:
        out.append(Segment(cursor, end, False))
    return out


def _archive_buckets(table: pa.Table, seconds: int) -> list[Agg]:
    """Aggregate archived rows into fixed buckets with DuckDB (bad readings left out)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("t", table)
        rows = con.execute(
            "SELECT to_timestamp(floor(epoch(ts) / $s) * $s) AS b, sensor, min(value), max(value), "
            "sum(value), count(*), arg_min(value, ts), arg_max(value, ts) FROM t WHERE quality <> 'bad' "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            {"s": seconds},
        ).fetchall()
    finally:
        con.close()
    return [
        Agg(b.astimezone(UTC), str(s), float(lo), float(hi), float(sm), int(n), float(f), float(la))
        for b, s, lo, hi, sm, n, f, la in rows
    ]


def _raw_rows(table: pa.Table) -> list[tuple[datetime, str, float, str]]:
    """An archived table's rows as (ts, sensor, value, quality), the shape the database side gives."""
    cols = table.to_pydict()
    return list(zip(cols["ts"], cols["sensor"], cols["value"], cols["quality"], strict=True))


class History:
    """A machine's history over the database and the archive."""

    def __init__(self, session: AsyncSession, archive: ArchiveIndex | None, tz: str = "UTC") -> None:
        self.session, self.archive, self.tz = session, archive, tz

    async def _archived(self, start: datetime, end: datetime) -> list[date]:
        return [] if self.archive is None else await self.archive.archived_days(start, end)

    async def archived_in(self, start: datetime | None, end: datetime | None) -> list[date]:
        """Archived days in the window (open ends: all of them)."""
        lo = start or datetime(1970, 1, 1, tzinfo=UTC)
        hi = end or datetime.now(UTC) + timedelta(days=1)
        return await self._archived(lo, hi)

    async def buckets(
        self, machine_id: str, resolution: Resolution, *, sensor: str | None, start: datetime, end: datetime
    ) -> tuple[list[Agg], str, ArchivePart | None]:
        """Whole buckets of [start, end) (aligned with `window_of`), the source, and the archived part."""
        width, stored = RESOLUTIONS[resolution]
        reader = BucketReader(self.session, self.tz)
        rollups = dialect_name(self.session) == "postgresql"
        days = [] if rollups else await self._archived(start, end)
        parts: list[Agg] = []
        read_rows = 0
        source = "raw"
        base: Bucket = "1h" if stored in ("1d", "1w", "1mo") else stored
        for seg in segments(start, end, days):
            if seg.archived:
                table = await self._read_archive(machine_id, sensor, seg)
                read_rows += table.num_rows
                got = _archive_buckets(table, STORED_S[base])
            elif base != stored:  # calendar buckets: from the database's daily level
                got, source = await reader.buckets(
                    machine_id, "1d", sensor=sensor, start=seg.start, end=seg.end
                )
            else:  # 5m, 15m, 6h: merged from 1m or 1h buckets in the database
                wider = width if width is not None and width != STORED_S[stored] else None
                got, source = await reader.buckets(
                    machine_id, stored, sensor=sensor, start=seg.start, end=seg.end, width=wider
                )
            parts.extend(got)
        rows = combine(parts) if days else parts
        if stored in ("1d", "1w", "1mo"):
            rows = regroup(rows, stored, self.tz)
        elif width is not None and width != STORED_S[stored] and days:  # archived parts: merged here
            rows = widen(rows, width)
        part = ArchivePart(days, read_rows) if days else None
        return rows, ("archive+" + source if days else source), part

    async def _read_archive(self, machine_id: str, sensor: str | None, seg: Segment) -> pa.Table:
        assert self.archive is not None
        day = seg.start.date()
        return await asyncio.to_thread(
            self.archive.store.read,
            day,
            machine_id=machine_id,
            sensors=None if sensor is None else [sensor],
            start=seg.start,
            end=seg.end,
            end_inclusive=False,
        )

    async def raw(
        self, machine_id: str, *, sensor: str | None, start: datetime, end: datetime, limit: int
    ) -> tuple[list[tuple[datetime, str, float, str]], ArchivePart | None]:
        """The newest `limit` readings in [start, end], oldest first: (ts, sensor, value, quality). Segments
        are read newest first and reading stops once `limit` readings are in hand, so an archived year is
        never loaded to answer for its last hour."""
        repo = ReadingRepository(self.session)
        days = await self._archived(start, end)
        read_days: list[date] = []
        read_rows = 0
        out: list[tuple[datetime, str, float, str]] = []
        for seg in reversed(segments(start, end + timedelta(microseconds=1), days)):
            if len(out) >= limit:
                break
            if seg.archived:
                table = await self._read_archive(machine_id, sensor, seg)
                read_rows += table.num_rows
                read_days.append(seg.start.date())
                got = _raw_rows(table)
            else:
                live = await repo.recent(
                    machine_id,
                    sensor=sensor,
                    start=seg.start,
                    end=seg.end - timedelta(microseconds=1),
                    limit=limit - len(out),
                )
                got = [(r.ts, r.sensor, r.value, r.quality) for r in live]
            got.sort(key=lambda r: (r[0], r[1]))
            out = got[-(limit - len(out)) :] + out
        part = ArchivePart(sorted(read_days), read_rows) if read_days else None
        return out, part

    async def stream(
        self, machine_id: str, *, sensor: str | None, start: datetime | None, end: datetime | None
    ) -> AsyncIterator[list[tuple[datetime, str, float, str]]]:
        """Every reading in the window, oldest first, in chunks: archived days from their files, the rest
        from the database (keyset pages)."""
        lo = start or datetime(1970, 1, 1, tzinfo=UTC)
        hi = end or datetime.now(UTC) + timedelta(days=1)
        days = await self._archived(lo, hi)
        repo = ReadingRepository(self.session)
        for seg in segments(lo, hi + timedelta(microseconds=1), days):
            if seg.archived:
                table = await self._read_archive(machine_id, sensor, seg)
                table = table.sort_by([("ts", "ascending"), ("sensor", "ascending")])
                yield _raw_rows(table)
                continue
            seg_end = seg.end - timedelta(microseconds=1)
            async for chunk in repo.stream(machine_id, sensor=sensor, start=seg.start, end=seg_end):
                yield [(r.ts, r.sensor, r.value, r.quality) for r in chunk]
