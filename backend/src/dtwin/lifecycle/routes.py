"""The data lifecycle's status and the archive (admin)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from fastapi import APIRouter

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.errors import NotFound, problem_responses
from dtwin.lifecycle.deps import LifecycleDep
from dtwin.lifecycle.schemas import (
    ArchivedDayRead,
    ArchiveList,
    LifecycleStatus,
    PartitionRead,
    RefreshRead,
    VerifyResult,
)
from dtwin.readings.archive import ArchiveError

router = APIRouter(tags=["lifecycle"], dependencies=[allow(Role.admin)])


@router.get("/lifecycle", response_model=LifecycleStatus, responses=problem_responses(503))
async def lifecycle_status(lifecycle: LifecycleDep) -> LifecycleStatus:
    """The storage layout, how far the rollups are, the partitions, retention and the last runs."""
    s = await lifecycle.status()
    state, cfg = lifecycle.state, lifecycle.config
    r = state.last_refresh
    watermark = s["watermark"]
    return LifecycleStatus(
        layout=s["layout"],
        plant_tz=cfg.tz,
        rollup_watermark=watermark,
        rollup_lag_s=None if watermark is None else (datetime.now(UTC) - watermark).total_seconds(),
        late_buckets_waiting=s["dirty"],
        last_refresh=None
        if r is None
        else RefreshRead(
            at=state.last_refresh_at,
            watermark=r.watermark,
            raw_rows=r.raw_rows,
            late_buckets=r.dirty,
            seconds=r.seconds,
        ),
        last_maintenance_at=state.last_maintenance_at,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
        failures=state.failures,
        raw_retention_days=cfg.raw_retention_days,
        rollup_retention_days=cfg.rollup_retention_days,
        archive_url=lifecycle.store.url,
        archive_cutoff=cfg.archive_cutoff(datetime.now(UTC)),
        partitions={
            t: [PartitionRead(name=p.name, start=p.lo, end=p.hi, default=p.default) for p in ps]
            for t, ps in s["partitions"].items()
        },
    )


@router.get("/archive", response_model=ArchiveList, responses=problem_responses(503))
async def archive_list(lifecycle: LifecycleDep) -> ArchiveList:
    """Every archived day, oldest first: its state (exported, verified, dropped, restored), rows, bytes,
    checksums and where the file is."""
    rows = await lifecycle.archived()
    dropped = [r for r in rows if r.state == "dropped"]
    return ArchiveList(
        items=[ArchivedDayRead.model_validate(r) for r in rows],
        rows=sum(r.rows for r in dropped),
        bytes=sum(r.bytes for r in dropped),
    )


@router.get("/archive/{day}/verify", response_model=VerifyResult, responses=problem_responses(404, 422, 503))
async def archive_verify(day: date, lifecycle: LifecycleDep) -> VerifyResult:
    """Check an archived day's file against its manifest (bytes, sha256, rows, content digest) and, while
    the day is also in the database, the database's rows against it."""
    if await asyncio.to_thread(lifecycle.store.manifest, day) is None:
        raise NotFound(f"{day} is not in the archive")
    try:
        manifest, problem = await lifecycle.verify(day)
    except ArchiveError as exc:
        return VerifyResult(day=day, ok=False, rows=0, sha256="", problem=str(exc))
    return VerifyResult(
        day=day, ok=problem is None, rows=manifest.rows, sha256=manifest.sha256, problem=problem
    )
