"""Alembic environment (async). The URL comes from the config (set by dtwin.core.migrate) or
DTWIN_DATABASE_URL; every model is imported through dtwin.db_registry."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from dtwin.config import get_settings
from dtwin.core.db import create_engine
from dtwin.db_registry import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _do_run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# PostgreSQL: one migration at a time across processes (several backends starting together, a `dtwin migrate`
# job beside them): a transaction-level advisory lock, taken first, held until the migrations commit; the
# next process then finds the schema at head and has nothing to do.
MIGRATION_LOCK = 0x6474_7769_6E5F_6D67  # "dtwin_mg"


async def run_migrations_online() -> None:
    engine = create_engine(_url(), pool_size=1)
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        await connection.run_sync(_do_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
