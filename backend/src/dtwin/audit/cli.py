"""`dtwin audit prune`: delete old audit entries from the configured database (DTWIN_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

audit_app = typer.Typer(help="The audit trail of API changes", no_args_is_help=True)


@audit_app.command("prune")
def prune_command(
    before: Annotated[
        datetime, typer.Option(help="Delete entries older than this instant (ISO 8601; no zone means UTC)")
    ],
) -> None:
    """Delete the audit entries recorded before `--before`; prints how many."""
    from dtwin.audit.service import prune
    from dtwin.config import get_settings
    from dtwin.core.db import create_engine, create_sessionmaker

    settings = get_settings()
    cutoff = before if before.tzinfo is not None else before.replace(tzinfo=UTC)

    async def go() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await prune(create_sessionmaker(engine), cutoff)
        finally:
            await engine.dispose()

    deleted = asyncio.run(go())
    typer.echo(f"deleted {deleted} audit entries older than {cutoff.isoformat()}")
