"""What other rooms ask of the readings room, in its own transactions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import transaction
from dtwin.readings.repository import ReadingRepository


async def purge_readings(sessions: async_sessionmaker[AsyncSession], machine_id: str) -> None:
    """Delete every stored reading of a machine (a twin deleted with `purge_history`)."""
    async with transaction(sessions) as session:
        await ReadingRepository(session).delete_machine(machine_id)
