"""Stored rollups of readings and the bucketed history read from them.

Levels: 10 s from raw readings, 1 min from 10 s, 1 h from 1 min, 1 day (midnight in the plant's time zone)
from 1 h (from 1 min when the zone has offsets that are not whole hours); weekly and monthly buckets are
regrouped from the daily ones here, calendar-aware in the plant's zone. Each row holds min, max, sum, count,
first and last of one machine's sensor in one bucket, so coarser buckets are exact aggregates of finer ones
(avg = sum / count). Readings of quality "bad" are in no bucket.

On plain PostgreSQL the lifecycle refresher keeps the tables (dtwin.lifecycle.refresher); raw readings
before its watermark are in them, except late readings not yet re-aggregated (marked dirty, taken at the
next refresh). A history read takes whole buckets from the rollup, and what lies at or after the watermark
from raw readings, merging the bucket that straddles it. On TimescaleDB the tables are continuous aggregates
(their own refresh policies; read with real-time aggregation). On SQLite (embedded mode) there are no
rollups: buckets are aggregated from raw readings when asked.

Bucketed history is answered on whole buckets: the window is widened to the buckets it touches, so a
rollup answer and a raw answer are the same numbers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import UTCDateTime, asyncpg_of, dialect_name, has_timescaledb

Bucket = Literal["10s", "1m", "1h", "1d", "1w", "1mo"]
STORED: tuple[Bucket, ...] = ("10s", "1m", "1h", "1d")
EPOCH = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"  # the origin of fixed-width buckets (date_bin's)
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
WATERMARK = "10s"  # rollup_state row of the finest level: raw readings before it are in the rollups


@dataclass(frozen=True, slots=True)
class Level:
    name: Bucket
    seconds: int  # nominal width (a local day may be 23 or 25 hours)
    source: Bucket | None  # None: raw readings

    @property
    def table(self) -> str:
        return f"readings_{self.name}"


def levels(tz: str = "UTC") -> tuple[Level, ...]:
    """The stored levels, each with the level it is aggregated from."""
    daily_from: Bucket = "1h" if whole_hour_zone(tz) else "1m"
    return (
        Level("10s", 10, None),
        Level("1m", 60, "10s"),
        Level("1h", 3600, "1m"),
        Level("1d", 86400, daily_from),
    )


def level(name: Bucket, tz: str = "UTC") -> Level:
    return next(lv for lv in levels(tz) if lv.name == name)


@lru_cache(maxsize=64)
def whole_hour_zone(tz: str) -> bool:
    """Whether the zone's UTC offsets (sampled monthly over this year and the next two) are whole hours."""
    zone = ZoneInfo(tz)
    year = datetime.now(UTC).year
    for y in range(year, year + 3):
        for m in range(1, 13):
            off = datetime(y, m, 1, 12, tzinfo=zone).utcoffset()
            if off is None or off.total_seconds() % 3600:
                return False
    return True


def zone_name(tz: str) -> str:
    """A validated zone name (ZoneInfo knows it), safe to write into SQL as a literal."""
    return str(ZoneInfo(tz))


# --- SQL building (PostgreSQL) ---------------------------------------------------------------------------


def pg_bucket(name: Bucket, column: str, tz: str) -> str:
    """The start of `column`'s bucket at a stored level, as a PostgreSQL expression."""
    if name == "1d":
        z = zone_name(tz)
        return f"(date_trunc('day', {column} AT TIME ZONE '{z}') AT TIME ZONE '{z}')"
    return f"date_bin(INTERVAL '{level(name).seconds} seconds', {column}, {EPOCH})"


def pg_bucket_end(name: Bucket, column: str, tz: str) -> str:
    """The end of the bucket starting at `column` (a local day: the next local midnight)."""
    if name == "1d":
        z = zone_name(tz)
        return f"((({column}) AT TIME ZONE '{z}' + INTERVAL '1 day') AT TIME ZONE '{z}')"
    return f"({column} + INTERVAL '{level(name).seconds} seconds')"


# first/last: the value paired with the smallest/largest epoch (an array compares element by element), so a
# hash aggregate does it; `array_agg(value ORDER BY ts)` needs a sort and was a third slower. Epoch seconds
# as float8 are exact to the microsecond for these dates; timestamps are unique per series (primary key).
RAW_AGGREGATES = (
    "min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count, "
    "(min(ARRAY[date_part('epoch', ts), value]))[2] AS first, "
    "(max(ARRAY[date_part('epoch', ts), value]))[2] AS last"
)


def rollup_aggregates(t: str = "") -> str:
    """Aggregates of rollup rows (columns prefixed with `t`, e.g. "s.") into coarser buckets."""
    return (
        f"min({t}min) AS min, max({t}max) AS max, sum({t}sum) AS sum, sum({t}count)::bigint AS count, "
        f"(min(ARRAY[date_part('epoch', {t}bucket), {t}first]))[2] AS first, "
        f"(max(ARRAY[date_part('epoch', {t}bucket), {t}last]))[2] AS last"
    )


UPSERT = (
    " ON CONFLICT (machine_id, sensor, bucket) DO UPDATE SET min = EXCLUDED.min, max = EXCLUDED.max,"
    " sum = EXCLUDED.sum, count = EXCLUDED.count, first = EXCLUDED.first, last = EXCLUDED.last"
)


# --- answers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Agg:
    """One bucket of one sensor."""

    ts: datetime
    sensor: str
    min: float
    max: float
    sum: float
    count: int
    first: float
    last: float

    @property
    def avg(self) -> float:
        return self.sum / self.count

    def merge(self, later: Agg) -> Agg:
        """This bucket's aggregate with one of data that all comes after it (same bucket and sensor)."""
        return replace(
            self,
            min=min(self.min, later.min),
            max=max(self.max, later.max),
            sum=self.sum + later.sum,
            count=self.count + later.count,
            last=later.last,
        )


def combine(rows: Iterable[Agg]) -> list[Agg]:
    """Merge rows of the same (ts, sensor) given in time order of their data; result ordered by ts, sensor."""
    out: dict[tuple[datetime, str], Agg] = {}
    for r in rows:
        key = (r.ts, r.sensor)
        prior = out.get(key)
        out[key] = r if prior is None else prior.merge(r)
    return [out[k] for k in sorted(out)]


def floor_to(ts: datetime, seconds: int) -> datetime:
    """The start of the fixed-width bucket holding `ts` (multiples of `seconds` since 2000-01-01 UTC, as
    PostgreSQL's date_bin with our origin)."""
    width = timedelta(seconds=seconds)
    return ORIGIN + width * ((ts - ORIGIN) // width)


def widen(rows: Sequence[Agg], seconds: int) -> list[Agg]:
    """Rows (in time order of their data) merged into fixed-width buckets of `seconds`."""
    return combine(replace(r, ts=floor_to(r.ts, seconds)) for r in rows)


def coarsen(rows: Sequence[Agg], lv: Level, tz: str) -> list[Agg]:
    """Finer rows (in time order) merged into the buckets of level `lv`."""
    return regroup(rows, "1d", tz) if lv.name == "1d" else widen(rows, lv.seconds)


def calendar_start(ts: datetime, bucket: Bucket, tz: str) -> datetime:
    """The start of the bucket holding `ts` in the plant's zone: a local day, ISO week (Monday) or month."""
    local = ts.astimezone(ZoneInfo(tz))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if bucket == "1w":
        day -= timedelta(days=day.weekday())
    elif bucket == "1mo":
        day = day.replace(day=1)
    elif bucket != "1d":
        raise ValueError(f"not a calendar bucket: {bucket}")
    return day.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def calendar_end(start: datetime, bucket: Bucket, tz: str) -> datetime:
    """The end of the calendar bucket starting at `start` (next local midnight, Monday, first of month)."""
    local = start.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    if bucket == "1d":
        nxt = local + timedelta(days=1)
    elif bucket == "1w":
        nxt = local + timedelta(days=7)
    elif bucket == "1mo":
        nxt = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        raise ValueError(f"not a calendar bucket: {bucket}")
    return nxt.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def regroup(rows: Sequence[Agg], bucket: Bucket, tz: str) -> list[Agg]:
    """Daily (or hourly) rows into local days, weeks or months (rows in time order)."""
    return combine(replace(r, ts=calendar_start(r.ts, bucket, tz)) for r in rows)


def align(start: datetime, end: datetime, bucket: Bucket, tz: str) -> tuple[datetime, datetime]:
    """[start, end] widened to whole buckets: [first bucket's start, last bucket's end)."""
    if bucket in ("1d", "1w", "1mo"):
        lo = calendar_start(start, bucket, tz)
        last = calendar_start(end, bucket, tz)
        return lo, calendar_end(last, bucket, tz)
    width = level(bucket).seconds
    return floor_to(start, width), floor_to(end, width) + timedelta(seconds=width)


def _utc(v: object) -> datetime:
    ts = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _aggs(rows: Iterable[Sequence[Any]]) -> list[Agg]:
    return [
        Agg(_utc(b), str(s), float(lo), float(hi), float(sm), int(n), float(f), float(la))
        for b, s, lo, hi, sm, n, f, la in rows
    ]


# SQLite: bucket starts as UTC text, from timestamps stored as UTC text
_SQLITE_BUCKET = {
    "10s": "strftime('%Y-%m-%d %H:%M:', ts) "
    "|| printf('%02d', (CAST(strftime('%S', ts) AS INTEGER) / 10) * 10)",
    "1m": "strftime('%Y-%m-%d %H:%M:00', ts)",
    "1h": "strftime('%Y-%m-%d %H:00:00', ts)",
}


class BucketReader:
    """Bucketed history of one machine: from rollups where they are kept, from raw readings elsewhere."""

    def __init__(self, session: AsyncSession, tz: str = "UTC") -> None:
        self.session, self.tz = session, tz

    async def _rollups_kept(self) -> bool:
        return dialect_name(self.session) == "postgresql"

    async def buckets(
        self,
        machine_id: str,
        bucket: Bucket,
        *,
        sensor: str | None,
        start: datetime,
        end: datetime,
        use_rollups: bool = True,
        width: int | None = None,
    ) -> tuple[list[Agg], str]:
        """Whole buckets of [start, end) (already aligned), oldest first, and where they came from
        (`rollup:<level>`, `rollup:<level>+raw` when the newest part came from raw readings, or `raw`).
        `width` (seconds, a multiple of a fixed level's): the level's rows merged into buckets that wide,
        in the database where rollups are kept (a month of 1-minute rows is 44,640 per sensor; merged into
        quarter-hours in Python it took 0.6 s)."""
        stored: Bucket = "1d" if bucket in ("1w", "1mo") else bucket
        if use_rollups and await self._rollups_kept():
            rows, source = await self._from_rollup(machine_id, stored, sensor, start, end, width)
        else:
            rows, source = await self.from_raw(machine_id, stored, sensor=sensor, start=start, end=end), "raw"
            if width is not None:
                rows = widen(rows, width)
        if bucket != stored:
            rows = regroup(rows, bucket, self.tz)
        return rows, source

    async def _watermarks(self) -> dict[str, datetime] | None:
        """Each level's watermark (None on TimescaleDB: continuous aggregates answer with real-time
        aggregation up to now)."""
        if await has_timescaledb(self.session):
            return None
        rows = await self.session.execute(text("SELECT name, watermark FROM rollup_state"))
        return {str(name): _utc(mark) for name, mark in rows}

    async def _select(
        self,
        name: Bucket,
        machine_id: str,
        sensor: str | None,
        start: datetime,
        upto: datetime,
        width: int | None = None,
    ) -> list[Agg]:
        """Rows of one machine's rollup at a level (merged into `width`-second buckets when given), straight
        through the driver (tens of thousands of rows for a long window: SQLAlchemy's row processing cost
        more than the query)."""
        where = "machine_id = $1 AND bucket >= $2 AND bucket < $3" + (" AND sensor = $4" if sensor else "")
        if width is None:
            sql = (
                f"SELECT bucket, sensor, min, max, sum, count, first, last FROM readings_{name} "  # noqa: S608
                f"WHERE {where} ORDER BY bucket, sensor"
            )
        else:
            sql = (
                f"SELECT date_bin(INTERVAL '{int(width)} seconds', bucket, {EPOCH}) AS b, sensor, "  # noqa: S608
                f"{rollup_aggregates()} FROM readings_{name} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
            )
        driver = await asyncpg_of(self.session)
        args = (machine_id, start, upto, sensor) if sensor else (machine_id, start, upto)
        records = await driver.fetch(sql, *args)
        return [Agg(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in records]

    async def _from_rollup(
        self,
        machine_id: str,
        name: Bucket,
        sensor: str | None,
        start: datetime,
        end: datetime,
        width: int | None = None,
    ) -> tuple[list[Agg], str]:
        marks = await self._watermarks()
        if marks is None:  # TimescaleDB
            return await self._select(name, machine_id, sensor, start, end, width), f"rollup:{name}"
        rows, used = await self._read(name, marks, machine_id, sensor, start, end, width)
        return rows, ("rollup:" + "+".join(used)) if used and used[0] != "raw" else "raw"

    async def _read(
        self,
        name: Bucket,
        marks: dict[str, datetime],
        machine_id: str,
        sensor: str | None,
        start: datetime,
        end: datetime,
        width: int | None = None,
    ) -> tuple[list[Agg], list[str]]:
        """Level `name`'s buckets of [start, end): its rows before its watermark, then what lies after from
        the level below (down to raw readings), merged into this level's buckets (or `width`-second ones).
        Returns the rows and the levels that gave any."""
        lv = level(name, self.tz)
        mark = marks.get(name)
        if mark is None:  # never refreshed
            rows = await self.from_raw(machine_id, name, sensor=sensor, start=start, end=end)
            rows = rows if width is None else widen(rows, width)
            return rows, ["raw"] if rows else []
        rows = await self._select(name, machine_id, sensor, start, min(end, mark), width)
        used: list[str] = [name] if rows else []
        if mark >= end:
            return rows, used
        lo = max(start, mark)
        if lv.source is None:
            tail = await self.from_raw(machine_id, name, sensor=sensor, start=lo, end=end)
            finer = ["raw"] if tail else []
        else:
            below, finer = await self._read(lv.source, marks, machine_id, sensor, lo, end)
            tail = coarsen(below, lv, self.tz)
        if width is not None:
            tail = widen(tail, width)
        if not tail:
            return rows, used
        return combine([*rows, *tail]), used + finer

    async def from_raw(
        self, machine_id: str, name: Bucket, *, sensor: str | None, start: datetime, end: datetime
    ) -> list[Agg]:
        """Buckets aggregated from raw readings in [start, end) (bad readings left out)."""
        postgres = dialect_name(self.session) == "postgresql"
        if not postgres and name == "1d":  # SQLite has no zones: local days are regrouped from hours
            return regroup(
                await self.from_raw(machine_id, "1h", sensor=sensor, start=start, end=end), "1d", self.tz
            )
        expr = pg_bucket(name, "ts", self.tz) if postgres else _SQLITE_BUCKET[name]
        where = "machine_id = :m AND ts >= :start AND ts < :end AND quality <> 'bad'" + (
            " AND sensor = :sensor" if sensor else ""
        )
        if postgres:
            sql = (
                f"SELECT {expr} AS b, sensor, {RAW_AGGREGATES} FROM readings "  # noqa: S608
                f"WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
            )
        else:
            sql = (
                "SELECT b, sensor, min(value), max(value), sum(value), count(*), min(fv), min(lv) FROM ("  # noqa: S608
                f"SELECT {expr} AS b, sensor, value, first_value(value) OVER w AS fv, "
                f"last_value(value) OVER w AS lv FROM readings WHERE {where} "
                f"WINDOW w AS (PARTITION BY sensor, {expr} ORDER BY ts "
                "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) "
                "GROUP BY b, sensor ORDER BY b, sensor"
            )
        stmt = text(sql).bindparams(
            bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
        )
        return _aggs(
            await self.session.execute(stmt, {"m": machine_id, "start": start, "end": end, "sensor": sensor})
        )
