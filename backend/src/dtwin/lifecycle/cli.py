"""`dtwin archive list|verify|restore|run` and `dtwin rollups refresh|status`: the data lifecycle by hand
(the backends run the same jobs on their own; these take the same locks)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

import typer

from dtwin.config import get_settings
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.kit.logging import configure_logging
from dtwin.lifecycle.service import LifecycleService
from dtwin.lifecycle.wiring import lifecycle_service
from dtwin.readings.archive import ArchiveError

archive_app = typer.Typer(help="Archived raw readings (Parquet, one file per UTC day)", no_args_is_help=True)
rollups_app = typer.Typer(help="Stored rollups of readings (10s, 1m, 1h, 1d)", no_args_is_help=True)

T = TypeVar("T")
Day = Annotated[str, typer.Argument(help="The UTC day, YYYY-MM-DD")]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)") from None


def _with_service(job: Callable[[LifecycleService], Awaitable[T]]) -> T:
    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)

    async def run() -> T:
        engine = create_engine(settings.database_url, pool_size=2)
        try:
            return await job(lifecycle_service(settings, create_sessionmaker(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@archive_app.command("list")
def archive_list() -> None:
    """Every archived day: state (exported, verified, dropped, restored), rows, bytes, where."""

    async def job(svc: LifecycleService) -> None:
        rows = await svc.archived()
        if not rows:
            typer.echo("no archived days")
        for r in rows:
            typer.echo(f"{r.day}  {r.state:<9} {r.rows:>12,} rows {r.bytes:>14,} bytes  {r.uri}")

    _with_service(job)


@archive_app.command("verify")
def archive_verify(day: Day) -> None:
    """Check a day's file against its manifest (bytes, sha256, rows, content digest) and, while the day is
    still in the database, the database's rows against it too. Exit 1 on a mismatch."""
    d = _day(day)

    async def job(svc: LifecycleService) -> str | None:
        manifest, problem = await svc.verify(d)
        typer.echo(f"{d}: {manifest.rows:,} rows, {manifest.bytes:,} bytes, sha256 {manifest.sha256}")
        return problem

    try:
        problem = _with_service(job)
    except ArchiveError as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None
    if problem:
        typer.echo(f"FAILED: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo("ok")


@archive_app.command("restore")
def archive_restore(day: Day) -> None:
    """Read an archived day back into the database (verified before, digest-checked after). It stays for
    DTWIN_RESTORE_KEEP_DAYS, then is archived again."""
    d = _day(day)

    async def job(svc: LifecycleService) -> None:
        m = await svc.restore(d)
        typer.echo(f"restored {d}: {m.rows:,} rows, digest {m.digest} matches")

    try:
        _with_service(job)
    except ArchiveError as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None


@archive_app.command("run")
def archive_run() -> None:
    """Run the maintenance now: partitions ahead, rollup retention, archival of the days due."""

    async def job(svc: LifecycleService) -> None:
        done = await svc.maintain(datetime.now(UTC))
        if not done:
            typer.echo("no day due (or another backend holds the maintenance lock)")
        for a in done:
            what = a.removed or f"kept: {a.reason}"
            typer.echo(f"{a.day}: {a.rows:,} rows, {a.bytes:,} bytes, {what}, {a.seconds:.1f} s")

    _with_service(job)


@rollups_app.command("refresh")
def rollups_refresh() -> None:
    """Bring the rollups up to date now (catching up in steps)."""

    async def job(svc: LifecycleService) -> None:
        r = await svc.refresh()
        if r is None:
            typer.echo("no refresher here: rollups are kept by plain PostgreSQL only")
        else:
            typer.echo(f"watermark {r.watermark}, {r.dirty} late buckets, upserted {r.upserted}")

    _with_service(job)


@rollups_app.command("status")
def rollups_status() -> None:
    """The storage layout, the rollup watermark, late buckets waiting and the partitions."""

    async def job(svc: LifecycleService) -> None:
        s = await svc.status()
        typer.echo(f"layout {s['layout']}, watermark {s['watermark']}, late buckets waiting {s['dirty']}")
        for table, ps in s["partitions"].items():
            typer.echo(f"{table}: {len(ps)} partitions: " + ", ".join(p.name for p in ps))

    _with_service(job)
