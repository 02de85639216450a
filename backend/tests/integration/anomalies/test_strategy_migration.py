"""Migration 0009 (strategy vocabulary) on PostgreSQL: stored decisions renamed, and back on downgrade."""

import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.factories.decisions import stored_strategies_through_the_migration


async def test_migration_renames_stored_decisions_and_back_on_postgresql(pg_url: str) -> None:
    name = f"dtwin_strategies_{uuid.uuid4().hex[:8]}"  # a database of its own: the session's is at head
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as c:
            await c.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        upgraded, downgraded = await stored_strategies_through_the_migration(url)
        assert upgraded == ["stable_growth", "neutral", "defensive", "aggressive"]
        assert downgraded == ["stable", "monitor", "defensive", "aggressive"]
    finally:
        async with admin.connect() as c:
            await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
