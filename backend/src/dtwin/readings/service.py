"""What other rooms ask of the readings room (the consumer, the twin rebuild, twin deletion), each call in its
own transaction: they use this, never the repository or the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import transaction
from dtwin.readings.models import ReadingRow
from dtwin.readings.repository import READING_COLUMNS, ReadingRepository, ReadingTuple
from dtwin.readings.wide import RAW_TABLE, Instant

__all__ = [
    "RAW_TABLE",
    "READING_COLUMNS",
    "Instant",
    "ReadingTuple",
    "TooManyReadings",
    "insert_unmarked",
    "latest_per_sensor",
    "purge_readings",
    "readings_between",
    "sensor_history",
    "store_instants",
    "store_readings",
    "window_means",
]


class TooManyReadings(Exception):
    """A history request over more readings than its caller allows (`found` of at most `limit`)."""

    def __init__(self, found: int, limit: int) -> None:
        super().__init__(f"{found:,} readings in the range; at most {limit:,}")
        self.found, self.limit = found, limit


async def store_readings(sessions: async_sessionmaker[AsyncSession], rows: Sequence[ReadingTuple]) -> int:
    """Store a batch of readings in one transaction, ignoring ones already stored (same machine, sensor and
    ts). Returns rows inserted (PostgreSQL) or rows offered (SQLite)."""
    async with transaction(sessions) as session:
        return await ReadingRepository(session).insert_many(rows)


async def store_instants(sessions: async_sessionmaker[AsyncSession], instants: Sequence[Instant]) -> int:
    """`store_readings` for readings grouped by machine and instant (one per accepted message)."""
    async with transaction(sessions) as session:
        return await ReadingRepository(session).insert_instants(instants)


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


async def sensor_history(
    session: AsyncSession, machine_ids: Sequence[str], sensor: str, start: datetime, end: datetime, limit: int
) -> list[tuple[str, datetime, float]]:
    """(machine, ts, value) of one sensor of these machines in [start, end), by machine and time (readings of
    quality "bad" left out). Raises TooManyReadings (counted first) when there are more than `limit`."""
    repo = ReadingRepository(session)
    found = await repo.count_sensor(machine_ids, sensor, start, end)
    if found > limit:
        raise TooManyReadings(found, limit)
    return await repo.sensor_rows(machine_ids, sensor, start, end)


async def readings_between(session: AsyncSession, start: datetime, end: datetime) -> list[ReadingTuple]:
    """Every reading in [start, end), by machine, sensor and time (the archive's export on SQLite)."""
    q = (
        select(ReadingRow.machine_id, ReadingRow.sensor, ReadingRow.ts, ReadingRow.value, ReadingRow.quality)
        .where(ReadingRow.ts >= start, ReadingRow.ts < end)
        .order_by(ReadingRow.machine_id, ReadingRow.sensor, ReadingRow.ts)
    )
    return [tuple(r) for r in (await session.execute(q)).all()]  # type: ignore[misc]


async def insert_unmarked(session: AsyncSession, rows: Sequence[ReadingTuple]) -> int:
    """Insert readings (skipping stored keys) without marking rollup buckets: for readings the rollups
    already hold (a restore from the archive)."""
    return await ReadingRepository(session).insert_many(rows, mark_late=False)


async def window_means(
    session: AsyncSession,
    machine_id: str,
    sensors: Sequence[str],
    windows: Sequence[tuple[datetime, datetime]],
) -> dict[tuple[int, str], tuple[float, int]]:
    """(window index, sensor) -> (mean, count) of one machine's readings in each [start, end) window (not
    overlapping; readings of quality "bad" left out): the steady levels the what-if predictor learns from."""
    return await ReadingRepository(session).window_means(machine_id, sensors, windows)
