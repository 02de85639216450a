"""What other rooms ask of the readings room (the consumer, the twin rebuild, twin deletion), each call in its
own transaction: they use this, never the repository or the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import transaction
from dtwin.readings.repository import ReadingRepository, ReadingTuple

__all__ = ["ReadingTuple", "latest_per_sensor", "purge_readings", "store_readings"]


async def store_readings(sessions: async_sessionmaker[AsyncSession], rows: Sequence[ReadingTuple]) -> int:
    """Store a batch of readings in one transaction, ignoring ones already stored (same machine, sensor and
    ts). Returns rows inserted (PostgreSQL) or rows offered (SQLite)."""
    async with transaction(sessions) as session:
        return await ReadingRepository(session).insert_many(rows)


async def latest_per_sensor(
    sessions: async_sessionmaker[AsyncSession], since: datetime
) -> dict[str, dict[str, tuple[float, datetime]]]:
    """machine -> sensor -> (value, ts) of each sensor's newest reading since `since`."""
    async with sessions() as session:
        return await ReadingRepository(session).latest_per_sensor(since)


async def purge_readings(sessions: async_sessionmaker[AsyncSession], machine_id: str) -> None:
    """Delete every stored reading of a machine (a twin deleted with `purge_history`)."""
    async with transaction(sessions) as session:
        await ReadingRepository(session).delete_machine(machine_id)
