"""The data lifecycle: rollups kept up to date, partitions created ahead, rollups trimmed, raw readings
archived past their retention. One background task per backend runs it (`run`); PostgreSQL advisory locks
make each job run in one backend at a time. The CLI (`dtwin archive ...`) and the API use the same service.

What happens where:
- plain PostgreSQL: everything below.
- TimescaleDB: readings are a hypertable (chunks by day, compressed after 7 days) and the rollups continuous
  aggregates with their own policies; this task archives days (export, verify, then `drop_chunks`) and trims
  nothing else (untested here: no TimescaleDB on our machines).
- SQLite (embedded mode): no partitions and no rollups; archival exports and deletes rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import dialect_name, has_timescaledb, transaction, ts_text
from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.archiver import Archived, Archiver
from dtwin.lifecycle.models import ArchivedDayRow
from dtwin.lifecycle.refresher import RefreshResult, RollupRefresher
from dtwin.readings.archive import ArchiveError, ArchiveStore, Manifest
from dtwin.readings.rollups import WATERMARK
from dtwin.readings.service import RAW_TABLE

log = structlog.get_logger(__name__)

MAINTENANCE_LOCK = 0x6474_7769_6E5F_6D61  # "dtwin_ma"


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    tz: str = "UTC"
    rollup_interval_s: float = 10.0
    rollup_grace_s: float = 60.0
    maintenance_s: float = 3600.0
    ahead_days: int = 7
    raw_retention_days: int = 30
    max_age_s: float = 30 * 86400.0  # telemetry older than this is refused: days before it are closed
    rollup_retention_days: dict[str, int] = field(
        default_factory=lambda: {"10s": 30, "1m": 180, "1h": 1825, "1d": 0}
    )
    archive_enabled: bool = True
    archive_days_per_run: int = 3
    restore_keep_days: int = 7

    def archive_cutoff(self, now: datetime) -> date:
        """Days before this one are archived: past the retention, and closed to telemetry (max age + a
        day of margin), whichever is later."""
        keep = max(
            timedelta(days=self.raw_retention_days), timedelta(seconds=self.max_age_s) + timedelta(days=1)
        )
        return (now - keep).date()


@dataclass(slots=True)
class LifecycleState:
    """What the last runs did (the status endpoint shows it)."""

    last_refresh: RefreshResult | None = None
    last_refresh_at: datetime | None = None
    last_maintenance_at: datetime | None = None
    last_archived: list[Archived] = field(default_factory=list)
    partitions_created: list[str] = field(default_factory=list)
    last_error: str | None = None
    last_error_at: datetime | None = None
    refreshes: int = 0
    failures: int = 0


class LifecycleService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], store: ArchiveStore, config: LifecycleConfig
    ) -> None:
        self.sessions, self.store, self.config = sessions, store, config
        self.refresher = RollupRefresher(
            sessions, tz=config.tz, grace=timedelta(seconds=config.rollup_grace_s)
        )
        self.archiver = Archiver(sessions, store)
        self.state = LifecycleState()

    async def layout(self) -> str:
        """`partitioned` (plain PostgreSQL), `timescaledb`, `sqlite`, or `plain` (PostgreSQL whose readings
        table is not partitioned: migrations not run yet)."""
        async with self.sessions() as session:
            if dialect_name(session) != "postgresql":
                return "sqlite"
            if await has_timescaledb(session):
                return "timescaledb"
            return "partitioned" if await parts.is_partitioned(session, RAW_TABLE) else "plain"

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[bool]:
        """A PostgreSQL session advisory lock held while the block runs (True), or False when another
        backend holds it. Released when the block ends or the connection dies. SQLite: always True."""
        async with self.sessions() as session:
            engine = session.bind
            postgres = dialect_name(session) == "postgresql"
        if not postgres:
            yield True
            return
        async with engine.connect() as conn:  # type: ignore[union-attr]
            got = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar())
            await conn.commit()  # the lock is the connection's, not the transaction's
            try:
                yield got
            finally:
                if got:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()

    # --- the jobs ---------------------------------------------------------------------------------------

    async def refresh(self, now: datetime | None = None) -> RefreshResult | None:
        """Bring the rollups up to date (plain PostgreSQL only; None elsewhere). Catches up in steps."""
        if await self.layout() != "partitioned":
            return None
        result = await self.refresher.refresh(now)
        while result.ran and result.behind_s > 0:
            result = await self.refresher.refresh(now)
        self.state.last_refresh, self.state.last_refresh_at = result, datetime.now(UTC)
        self.state.refreshes += 1
        return result

    async def maintain(self, now: datetime | None = None) -> list[Archived]:
        """Partitions ahead, rollup retention, then archival of due days (in one backend at a time)."""
        now = now or datetime.now(UTC)
        async with self.exclusive(MAINTENANCE_LOCK) as mine:
            if not mine:
                return []
            layout = await self.layout()
            if layout == "partitioned":
                await self.ensure_partitions(now)
                await self.trim_rollups(now)
            archived = await self.archive_due(now) if self.config.archive_enabled else []
        self.state.last_maintenance_at = datetime.now(UTC)
        self.state.last_archived = archived
        return archived

    async def ensure_partitions(self, now: datetime) -> list[str]:
        today = now.astimezone(UTC).date()
        days = [today + timedelta(days=i) for i in range(self.config.ahead_days + 1)]
        created: list[str] = []
        async with transaction(self.sessions) as session:
            for table in parts.PARTITIONED:
                created += await parts.ensure_days(session, table, days)
        if created:
            log.info("partitions_created", partitions=created)
        self.state.partitions_created = created
        return created

    async def trim_rollups(self, now: datetime) -> dict[str, int]:
        """Drop rollup buckets past their level's retention (partitions whole, other rows by delete)."""
        out: dict[str, int] = {}
        async with transaction(self.sessions) as session:
            for name, days in self.config.rollup_retention_days.items():
                if days <= 0:
                    continue
                table = f"readings_{name}"
                cutoff = datetime.combine((now - timedelta(days=days)).date(), datetime.min.time(), UTC)
                removed = 0
                if table in parts.PARTITIONED:
                    for p in await parts.partitions(session, table):
                        if not p.default and p.hi is not None and p.hi <= cutoff and p.lo is not None:
                            await session.execute(text(f"DROP TABLE {p.name}"))
                            removed += 1
                delete = f"DELETE FROM {table} WHERE bucket < :c"  # noqa: S608
                res = await session.execute(ts_text(delete, "c"), {"c": cutoff})
                out[name] = removed + int(res.rowcount)  # type: ignore[attr-defined]
        return out

    async def archive_due(self, now: datetime) -> list[Archived]:
        cutoff = self.config.archive_cutoff(now)
        days = await self.archiver.due_days(
            cutoff,
            keep_restored=timedelta(days=self.config.restore_keep_days),
            now=now,
            limit=self.config.archive_days_per_run,
        )
        done = []
        for day in days:
            async with self.sessions() as session:
                empty = await self.archiver.count(session, day) == 0
            if empty:  # an empty daily partition: nothing to keep
                async with transaction(self.sessions) as session:
                    if dialect_name(session) == "postgresql":
                        await parts.remove_day(session, RAW_TABLE, day)
                continue
            done.append(await self.archiver.archive_day(day))
        return done

    # --- the archive, for the CLI and the API -----------------------------------------------------------

    async def archived(self) -> list[ArchivedDayRow]:
        async with self.sessions() as session:
            return list((await session.scalars(select(ArchivedDayRow).order_by(ArchivedDayRow.day))).all())

    async def archived_days(self, start: datetime, end: datetime) -> list[date]:
        """Days in [start, end] whose raw readings are in the archive and no longer in the database."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ArchivedDayRow.day).where(
                    ArchivedDayRow.state == "dropped",
                    ArchivedDayRow.day >= start.astimezone(UTC).date(),
                    ArchivedDayRow.day <= end.astimezone(UTC).date(),
                )
            )
            return sorted(rows.all())

    async def verify(self, day: date) -> tuple[Manifest, str | None]:
        """The file against its manifest; for a day still in the database, the database's rows too.
        Returns (manifest, problem or None). Raises ArchiveError when the file itself is wrong."""
        manifest = await asyncio.to_thread(self.store.verify, day)
        async with self.sessions() as session:
            row = await session.get(ArchivedDayRow, day)
        if row is not None and row.state in ("exported", "verified", "restored"):
            found = await self.archiver.db_digest(day)
            if found != manifest.digest:
                return manifest, f"the database's rows differ from the archive ({found} != {manifest.digest})"
        return manifest, None

    async def restore(self, day: date) -> Manifest:
        return await self.archiver.restore(day)

    async def status(self) -> dict[str, Any]:
        async with self.sessions() as session:
            watermark = None
            layout = await self.layout()
            if layout == "partitioned":
                row = (
                    await session.execute(
                        text("SELECT watermark, refreshed_at FROM rollup_state WHERE name = :n"),
                        {"n": WATERMARK},
                    )
                ).first()
                watermark = None if row is None else row[0]
                dirty = int((await session.execute(text("SELECT count(*) FROM rollup_dirty"))).scalar() or 0)
                listed = {t: await parts.partitions(session, t) for t in parts.PARTITIONED}
            else:
                dirty, listed = 0, {}
        return {"layout": layout, "watermark": watermark, "dirty": dirty, "partitions": listed}


class LifecycleTask:
    """The background loop: refresh every `rollup_interval_s`, maintain every `maintenance_s` (first at
    start). A failing job is logged and counted and tried again next time (the supervisor restarts the
    task if it dies)."""

    def __init__(self, service: LifecycleService) -> None:
        self.service = service

    async def run(self) -> None:
        cfg = self.service.config
        loop = asyncio.get_running_loop()
        next_maintenance = loop.time()
        while True:
            await self._guard("rollup_refresh", self.service.refresh())
            if loop.time() >= next_maintenance:
                await self._guard("lifecycle_maintenance", self.service.maintain())
                next_maintenance = loop.time() + cfg.maintenance_s
            await asyncio.sleep(cfg.rollup_interval_s)

    async def _guard(self, what: str, job: Any) -> None:
        try:
            await job
        except (SQLAlchemyError, OSError, ArchiveError, TimeoutError) as exc:
            state = self.service.state
            state.failures += 1
            state.last_error, state.last_error_at = f"{what}: {type(exc).__name__}: {exc}", datetime.now(UTC)
            log.warning("lifecycle_job_failed", job=what, error=f"{type(exc).__name__}: {exc}")
