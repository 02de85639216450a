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

from dtwin.core.db import UTCDateTime, dialect_name, has_timescaledb

Bucket = Literal["10s", "1m", "1h", "1d", "1w", "1mo"]
STORED: tuple[Bucket, ...] = ("10s", "1m", "1h", "1d")
EPOCH = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
WATERMARK = "raw"  # rollup_state row: raw readings before its watermark are in the rollups


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


RAW_AGGREGATES = (
    "min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count, "
    "(array_agg(value ORDER BY ts))[1] AS first, (array_agg(value ORDER BY ts DESC))[1] AS last"
)


def rollup_aggregates(t: str = "") -> str:
    """Aggregates of rollup rows (columns prefixed with `t`, e.g. "s.") into coarser buckets."""
    return (
        f"min({t}min) AS min, max({t}max) AS max, sum({t}sum) AS sum, sum({t}count)::bigint AS count, "
        f"(array_agg({t}first ORDER BY {t}bucket))[1] AS first, "
        f"(array_agg({t}last ORDER BY {t}bucket DESC))[1] AS last"
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
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    lo_n = int((start - epoch).total_seconds() // width)
    hi_n = int((end - epoch).total_seconds() // width) + 1
    return epoch + timedelta(seconds=lo_n * width), epoch + timedelta(seconds=hi_n * width)


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
    ) -> tuple[list[Agg], str]:
        """Whole buckets of [start, end) (already aligned), oldest first, and where they came from
        (`rollup:<level>`, `rollup:<level>+raw` when the newest part came from raw readings, or `raw`)."""
        stored: Bucket = "1d" if bucket in ("1w", "1mo") else bucket
        if use_rollups and await self._rollups_kept():
            rows, source = await self._from_rollup(machine_id, stored, sensor, start, end)
        else:
            rows, source = await self.from_raw(machine_id, stored, sensor=sensor, start=start, end=end), "raw"
        if bucket != stored:
            rows = regroup(rows, bucket, self.tz)
        return rows, source

    async def _watermark(self) -> datetime | None:
        if await has_timescaledb(self.session):
            return None  # continuous aggregates answer with real-time aggregation up to now
        row = (
            await self.session.execute(
                text("SELECT watermark FROM rollup_state WHERE name = :n"), {"n": WATERMARK}
            )
        ).first()
        return None if row is None else _utc(row[0])

    async def _from_rollup(
        self, machine_id: str, name: Bucket, sensor: str | None, start: datetime, end: datetime
    ) -> tuple[list[Agg], str]:
        timescale = await has_timescaledb(self.session)
        watermark = await self._watermark()
        if not timescale and watermark is None:  # never refreshed: nothing stored yet
            return await self.from_raw(machine_id, name, sensor=sensor, start=start, end=end), "raw"
        upto = end if watermark is None else min(end, watermark)
        where = "machine_id = :m AND bucket >= :start AND bucket < :upto" + (
            " AND sensor = :sensor" if sensor else ""
        )
        sql = text(
            f"SELECT bucket, sensor, min, max, sum, count, first, last FROM readings_{name} "  # noqa: S608
            f"WHERE {where} ORDER BY bucket, sensor"
        ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("upto", type_=UTCDateTime()))
        rows = _aggs(
            await self.session.execute(sql, {"m": machine_id, "start": start, "upto": upto, "sensor": sensor})
        )
        if watermark is None or watermark >= end:
            return rows, f"rollup:{name}"
        tail = await self.from_raw(machine_id, name, sensor=sensor, start=max(start, watermark), end=end)
        if not tail:
            return rows, f"rollup:{name}"
        return combine([*rows, *tail]), f"rollup:{name}+raw"

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
