"""The rollup refresher (plain PostgreSQL): keeps readings_10s/1m/1h/1d equal to what the raw readings say.

One refresh, in one transaction, by one backend at a time (a PostgreSQL advisory lock; others skip):
1. Raw readings in [watermark, target) are aggregated into 10-second buckets, and each coarser level
   re-aggregates its buckets that overlap that range from the level below (upserts: a bucket straddling the
   target is partial and is completed by the next refresh). `target` is the 10-second boundary `grace`
   before now, so readings still arriving in time are not missed.
2. Late readings (behind the watermark) were marked in `rollup_dirty` by the insert that stored them
   (per machine, sensor and 10-second bucket). The refresher claims those marks and re-aggregates exactly
   those buckets, then their parents level by level.
3. The watermark moves to `target`.

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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import transaction
from dtwin.readings.rollups import (
    RAW_AGGREGATES,
    UPSERT,
    WATERMARK,
    Level,
    levels,
    pg_bucket,
    pg_bucket_end,
    rollup_aggregates,
)

log = structlog.get_logger(__name__)

LOCK_KEY = 0x6474_7769_6E5F_726F  # "dtwin_ro": pg advisory lock of the refresher
TEN_S = timedelta(seconds=10)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def floor10(ts: datetime) -> datetime:
    return EPOCH + TEN_S * int((ts - EPOCH) / TEN_S)


@dataclass(slots=True)
class RefreshResult:
    ran: bool = False  # false: another backend holds the lock, or nothing to do
    watermark: datetime | None = None
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
            watermark = await self._watermark(session)
            if watermark is None:
                oldest = (await session.execute(text("SELECT min(ts) FROM readings"))).scalar()
                if oldest is None:
                    return result
                watermark = floor10(oldest)
            goal = floor10(now - self.grace)
            target = min(goal, floor10(watermark + self.step)) if watermark < goal else watermark
            result.ran = True
            ladder = levels(self.tz)
            dirty = await self._claim_dirty(session, watermark, target)
            result.dirty = dirty
            if target > watermark:
                for lv in ladder:
                    n = await self._range_pass(session, lv, watermark, target)
                    result.upserted[lv.name] = n
                    if lv.source is None:
                        result.raw_rows = await self._raw_count(session, watermark, target)
            if dirty:
                for lv in ladder:
                    n = await self._dirty_pass(session, lv, target)
                    result.upserted[lv.name] = result.upserted.get(lv.name, 0) + n
            await session.execute(
                text(
                    "INSERT INTO rollup_state (name, watermark, refreshed_at) VALUES (:n, :w, :now) "
                    "ON CONFLICT (name) DO UPDATE SET watermark = EXCLUDED.watermark, "
                    "refreshed_at = EXCLUDED.refreshed_at"
                ),
                {"n": WATERMARK, "w": target, "now": now},
            )
            result.watermark = target
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
    async def _watermark(session: AsyncSession) -> datetime | None:
        row = (
            await session.execute(
                text("SELECT watermark FROM rollup_state WHERE name = :n FOR UPDATE"), {"n": WATERMARK}
            )
        ).first()
        return None if row is None else row[0]

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
            sql = (
                f"INSERT INTO {lv.table} (machine_id, sensor, bucket, min, max, sum, count, first, last) "  # noqa: S608
                f"SELECT machine_id, sensor, {pg_bucket(lv.name, 'ts', self.tz)}, {RAW_AGGREGATES} "
                "FROM readings WHERE ts >= :lo AND ts < :hi AND quality <> 'bad' GROUP BY 1, 2, 3" + UPSERT
            )
            params = {"lo": lo, "hi": hi}
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
        """Re-aggregate the marked buckets of this level (d_<level>) and mark their parents (d_<parent>)."""
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
