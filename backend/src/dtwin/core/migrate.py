"""Run Alembic migrations programmatically (from the CLI or at startup), on any supported dialect."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

# backend/migrations in a source checkout; DTWIN_MIGRATIONS_DIR for installed packages (container images)
MIGRATIONS_DIR = Path(
    os.environ.get("DTWIN_MIGRATIONS_DIR") or Path(__file__).resolve().parents[3] / "migrations"
)


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Alembic's env runs its own event loop, so it goes to a worker thread."""
    await asyncio.to_thread(upgrade_sync, database_url, revision)
