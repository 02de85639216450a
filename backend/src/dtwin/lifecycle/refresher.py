"""The rollup refresher (plain PostgreSQL): keeps readings_10s/1m/1h/1d equal to what the raw readings say.

Each level has its own watermark (rollup_state, one row per level): level L holds exactly the readings
stamped before W_L. Reads take L's rows up to W_L and the rest from the level below (recursively, down to
raw readings), so an answer is exact whatever the watermarks are (dtwin.readings.rollups).

One refresh, in one transaction, by one backend at a time (a PostgreSQL advisory lock; others skip):
1. **10 s**: raw readings in [W_10s, target) are aggregated into 10-second buckets; `target` is the 10-second
   boundary `grace` before now (readings still arriving in time are not missed).
2. **Coarser levels** advance less often, each when its source has moved at least its cadence past it (1 min:
   every minute, 1 h: every 10 minutes, 1 d: hourly): the buckets overlapping [W_L, W'_L) are re-aggregated
   from the source level's rows before W'_L, where W'_L is the source's watermark floored to a source bucket
   (so a source bucket is either wholly in L or wholly read from the source). Re-aggregating every level on
   every refresh upserted one row per series and level each time: four times the work for nothing.
3. **Late readings** (behind W_10s) were marked in `rollup_dirty` by the insert that stored them (per machine,
   sensor and 10-second bucket). The refresher claims those marks and re-aggregates exactly those buckets,
   then their parents level by level, each up to its own watermark.

Why a late reading is never missed: the insert marks every reading stamped more than `mark_after` before
its transaction began, and the refresher only advances to `grace` (> `mark_after`) before now. A reading
neither marked nor inside the refresher's snapshot would need an insert transaction open for longer than
grace - mark_after (30 s; database writes time out after DTWIN_DB_TIMEOUT_S, 10 s).

Catching up (a first refresh over existing data, or after an outage) goes in steps: the range per refresh
grows while steps are light and shrinks when one holds many readings, so one transaction stays bounded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import transaction
from dtwin.readings.rollups import (
    RAW_AGGREGATES,
    UPSERT,
    Level,
    floor_to,
    levels,
    pg_bucket,
    pg_bucket_end,
    rollup_aggregates,
)
from dtwin.readings.service import RAW_TABLE

log = structlog.get_logger(__name__)

LOCK_KEY = 0x6474_7769_6E5F_726F  # "dtwin_ro": pg advisory lock of the refresher


def floor10(ts: datetime) -> datetime:
    return floor_to(ts, 10)


# how far a level's source must have moved past it before it is re-aggregated (0: every refresh)
CADENCE = {
    "10s": timedelta(0),
    "1m": timedelta(minutes=1),
    "1h": timedelta(minutes=10),
    "1d": timedelta(hours=1),
}


@dataclass(slots=True)
class RefreshResult:
    ran: bool = False  # false: another backend holds the lock, or nothing to do
    watermark: datetime | None = None  # of the 10-second level
    watermarks: dict[str, datetime] = field(default_factory=dict)
    raw_rows: int = 0  # raw readings aggregated by the range pass
    dirty: int = 0  # late 10-second buckets re-aggregated
    upserted: dict[str, int] = field(default_factory=dict)
    behind_s: float = 0.0  # how far the watermark still is from the target after this refresh
    seconds: float = 0.0


@dataclass(slots=True)
class RollupRefresher:
    sessions: async_sessionmaker[AsyncSession]
    tz: str = "UTC"
    grace: timedelta = timedelta(seconds=60)
    step: timedelta = timedelta(minutes=10)  # catch-up range per refresh, adapted
    max_step: timedelta = timedelta(days=7)
    target_rows: int = 2_000_000  # catch-up: aim at about this many raw readings per refresh
    _raw: int | None = None  # readings the last 10-second range pass read

    async def refresh(self, now: datetime | None = None) -> RefreshResult:
        t0 = time.perf_counter()
        now = now or datetime.now(UTC)
        result = RefreshResult()
        async with transaction(self.sessions) as session:
            got = (
                await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            ).scalar()
            if not got:
                return result
            await session.execute(text("SET LOCAL work_mem = '128MB'"))  # sorts and hashes in memory
            ladder = levels(self.tz)
            marks = await self._watermarks(session)
            base = marks.get("10s")
            if base is None:
                oldest = (await session.execute(text(f"SELECT min(ts) FROM {RAW_TABLE}"))).scalar()  # noqa: S608
                if oldest is None:
                    return result
                base = floor10(oldest)
            goal = floor10(now - self.grace)
            target = min(goal, floor10(base + self.step)) if base < goal else base
            result.ran = True
            result.dirty = await self._claim_dirty(session, base, target)
            new: dict[str, datetime] = {}
            by_name = {lv.name: lv for lv in ladder}
            for lv in ladder:
                old = marks.get(lv.name, base)
                if lv.source is None:
                    upto = target
                else:
                    upto = floor_to(new[lv.source], by_name[lv.source].seconds)
                    if upto - old < CADENCE[lv.name] and goal - old < self.step:
                        upto = old  # not due yet (and not catching up)
                if upto > old:
                    self._raw = None
                    result.upserted[lv.name] = await self._range_pass(session, lv, old, upto)
                    if lv.source is None:
                        result.raw_rows = (
                            self._raw if self._raw is not None else await self._raw_count(session, old, upto)
                        )
                new[lv.name] = max(upto, old)
            if result.dirty:
                for lv in ladder:
                    n = await self._dirty_pass(session, lv, new[lv.name])
                    result.upserted[lv.name] = result.upserted.get(lv.name, 0) + n
            for name, mark in new.items():
                await session.execute(
                    text(
                        "INSERT INTO rollup_state (name, watermark, refreshed_at) VALUES (:n, :w, :now) "
                        "ON CONFLICT (name) DO UPDATE SET watermark = EXCLUDED.watermark, "
                        "refreshed_at = EXCLUDED.refreshed_at"
                    ),
                    {"n": name, "w": mark, "now": now},
                )
            result.watermark = target
            result.watermarks = new
            result.behind_s = (goal - target).total_seconds()
        self._adapt(result)
        result.seconds = time.perf_counter() - t0
        return result

    def _adapt(self, result: RefreshResult) -> None:
        if result.behind_s <= 0:
            return
        if result.raw_rows > self.target_rows:
            self.step = max(self.step / 2, timedelta(minutes=1))
        elif result.raw_rows < self.target_rows // 4:
            self.step = min(self.step * 4, self.max_step)

    @staticmethod
    async def _watermarks(session: AsyncSession) -> dict[str, datetime]:
        rows = await session.execute(text("SELECT name, watermark FROM rollup_state FOR UPDATE"))
        return {name: mark for name, mark in rows}

    @staticmethod
    async def _raw_count(session: AsyncSession, lo: datetime, hi: datetime) -> int:
        # the 10 s upserts' row count is buckets, not readings: count the readings the pass read
        return int(
            (
                await session.execute(
                    text(
                        "SELECT coalesce(sum(count), 0) FROM readings_10s "
                        "WHERE bucket >= :lo AND bucket < :hi"
                    ),
                    {"lo": lo, "hi": hi},
                )
            ).scalar()
            or 0
        )

    async def _claim_dirty(self, session: AsyncSession, watermark: datetime, target: datetime) -> int:
        """Take the late marks below `target` into a temporary table d_10s (dropped at commit). Marks at or
        after the old watermark are dropped: this refresh's range pass reads their readings anyway (they
        were committed with their marks, so this transaction's next statements see them)."""
        await session.execute(
            text(
                "CREATE TEMP TABLE d_10s ON COMMIT DROP AS WITH claimed AS ("
                " DELETE FROM rollup_dirty WHERE bucket < :t RETURNING machine_id, sensor, bucket)"
                " SELECT DISTINCT machine_id, sensor, bucket FROM claimed WHERE bucket < :w"
            ),
            {"t": target, "w": watermark},
        )
        await session.execute(text("ANALYZE d_10s"))
        return int((await session.execute(text("SELECT count(*) FROM d_10s"))).scalar() or 0)

    async def _range_pass(self, session: AsyncSession, lv: Level, lo: datetime, hi: datetime) -> int:
        if lv.source is None:
            # 10-second buckets at or after the watermark are new (late marks only re-aggregate buckets
            # behind it), so a plain insert does (a third cheaper than an upsert), straight into the day's
            # partition when the range lies in one (no routing per row); should a bucket exist after all,
            # the savepoint takes the insert back and the upsert below runs instead
            table = lv.table
            if lo.date() == (hi - timedelta(microseconds=1)).date():
                day_table = f"{lv.table}_p{lo:%Y%m%d}"
                found = await session.execute(text("SELECT to_regclass(:t)"), {"t": day_table})
                table = day_table if found.scalar() is not None else lv.table
            select = (
                f"SELECT machine_id, sensor, {pg_bucket(lv.name, 'ts', self.tz)}, {RAW_AGGREGATES} "  # noqa: S608
                "FROM readings WHERE ts >= :lo AND ts < :hi AND quality <> 'bad' GROUP BY 1, 2, 3"
            )
            insert = (
                f"WITH ins AS (INSERT INTO {table} (machine_id, sensor, bucket, min, max, sum, count, first, "  # noqa: S608
                f"last) {select} RETURNING count) SELECT count(*), coalesce(sum(count), 0) FROM ins"
            )
            params = {"lo": lo, "hi": hi}
            try:
                async with session.begin_nested():
                    buckets, readings = (await session.execute(text(insert), params)).one()
                    self._raw = int(readings)
                    return int(buckets)
            except IntegrityError:
                log.warning("rollup_range_pass_conflict", level=lv.name, lo=str(lo), hi=str(hi))
            sql = (
                f"INSERT INTO {lv.table} (machine_id, sensor, bucket, min, max, sum, count, first, last) "
                + select
            )
            sql += UPSERT
        else:
            # the buckets of this level that overlap [lo, hi): from the start of the one holding lo
            first = pg_bucket(lv.name, "CAST(:lo AS timestamptz)", self.tz)
            sql = (
                f"INSERT INTO {lv.table} (machine_id, sensor, bucket, min, max, sum, count, first, last) "  # noqa: S608
                f"SELECT machine_id, sensor, {pg_bucket(lv.name, 'bucket', self.tz)}, {rollup_aggregates()} "
                f"FROM readings_{lv.source} WHERE bucket >= {first} AND bucket < :hi GROUP BY 1, 2, 3"
                + UPSERT
            )
            params = {"lo": lo, "hi": hi}
        return int((await session.execute(text(sql), params)).rowcount)  # type: ignore[attr-defined]

    async def _dirty_pass(self, session: AsyncSession, lv: Level, target: datetime) -> int:
        """Re-aggregate the marked buckets of this level (d_<level>) from source rows before the level's
        watermark `target`, having marked them from the level below's marks."""
        if lv.source is None:
            sql = (
                f"INSERT INTO {lv.table} (machine_id, sensor, bucket, min, max, sum, count, first, last) "  # noqa: S608
                f"SELECT d.machine_id, d.sensor, d.bucket, {RAW_AGGREGATES} FROM d_10s d JOIN readings r "
                "ON r.machine_id = d.machine_id AND r.sensor = d.sensor AND r.ts >= d.bucket "
                "AND r.ts < d.bucket + INTERVAL '10 seconds' WHERE r.quality <> 'bad' GROUP BY 1, 2, 3"
                + UPSERT
            )
        else:
            await session.execute(
                text(
                    f"CREATE TEMP TABLE d_{lv.name} ON COMMIT DROP AS SELECT DISTINCT machine_id, sensor, "  # noqa: S608
                    f"{pg_bucket(lv.name, 'bucket', self.tz)} AS bucket FROM d_{lv.source}"
                )
            )
            await session.execute(text(f"ANALYZE d_{lv.name}"))
            end = pg_bucket_end(lv.name, "d.bucket", self.tz)
            sql = (
                f"INSERT INTO {lv.table} (machine_id, sensor, bucket, min, max, sum, count, first, last) "  # noqa: S608
                f"SELECT d.machine_id, d.sensor, d.bucket, {rollup_aggregates('s.')}"
                f" FROM d_{lv.name} d JOIN readings_{lv.source} s ON s.machine_id = d.machine_id "
                f"AND s.sensor = d.sensor AND s.bucket >= d.bucket AND s.bucket < {end} "
                "AND s.bucket < :t GROUP BY 1, 2, 3" + UPSERT
            )
        return int((await session.execute(text(sql), {"t": target})).rowcount)  # type: ignore[attr-defined]
