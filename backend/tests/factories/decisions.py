"""Stored strategy decisions for tests: rows as an older or newer backend wrote them, and the decisions table
taken through the strategy-vocabulary migration (0009) on any dialect."""

import asyncio
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from dtwin.anomalies.models import DecisionRow
from dtwin.core.migrate import alembic_config, upgrade_sync

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BEFORE = "0008_twin_command"  # the last revision with the old names
OLD_NAMES = ("stable", "monitor", "defensive", "aggressive")


def decision_row(machine_id: str, strategy: str, minute: int) -> dict[str, object]:
    return {
        "machine_id": machine_id,
        "ts": T0.replace(minute=minute),
        "strategy": strategy,
        "confidence": 0.8,
        "risk": 0.1,
        "opportunity": 0.0,
        "stability": 1.0,
        "reasons": ["r"],
    }


async def stored_strategies_through_the_migration(url: str) -> tuple[list[str], list[str]]:
    """Rows with the old names written at the revision before, then upgraded to head and downgraded again:
    the stored strategies after each step."""
    await asyncio.to_thread(upgrade_sync, url, BEFORE)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as c:
            await c.execute(insert(DecisionRow), [decision_row("m-1", s, i) for i, s in enumerate(OLD_NAMES)])

        async def stored() -> list[str]:
            async with engine.connect() as c:
                return list((await c.scalars(select(DecisionRow.strategy).order_by(DecisionRow.id))).all())

        await asyncio.to_thread(upgrade_sync, url)
        upgraded = await stored()
        await asyncio.to_thread(command.downgrade, alembic_config(url), BEFORE)
        return upgraded, await stored()
    finally:
        await engine.dispose()
