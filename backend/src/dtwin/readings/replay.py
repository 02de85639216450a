"""Replay: re-feed stored readings through the pipeline (for example after a detector change).

Rows are read in time order in chunks (keyset pagination over ts, machine_id, sensor), regrouped into one
schema-1 message per machine and instant, and produced to `telemetry.raw` with a `replay` header, paced like
the original (`speed` times faster) or as fast as possible (`speed` 0). Nothing is stored twice: the
consumer's insert ignores rows it already has, and the twin's per-property timestamps keep older values
from overwriting newer ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.telemetry import iso_utc
from dtwin.kit.bus import TelemetryBus
from dtwin.readings.models import ReadingRow
from dtwin.readings.repository import ReadingRepository
from dtwin.twins.durable import TwinRegistry


@dataclass
class ReplayStats:
    messages: int = 0
    readings: int = 0


async def _rows(
    sessions: async_sessionmaker[AsyncSession],
    start: datetime,
    end: datetime,
    machine_id: str | None,
    chunk: int,
) -> AsyncIterator[list[ReadingRow]]:
    last: tuple[datetime, str, str] | None = None
    while True:
        async with sessions() as session:  # one short session per chunk: no transaction spans the replay
            rows = await ReadingRepository(session).page_after(
                start=start, end=end, machine_id=machine_id, after=last, limit=chunk
            )
        if not rows:
            return
        yield rows
        last = (rows[-1].ts, rows[-1].machine_id, rows[-1].sensor)
        if len(rows) < chunk:
            return


async def replay(
    bus: TelemetryBus,
    sessions: async_sessionmaker[AsyncSession],
    *,
    topic: str,
    start: datetime,
    end: datetime,
    speed: float = 0.0,
    machine_id: str | None = None,
    chunk: int = 20_000,
) -> ReplayStats:
    placement = await TwinRegistry(sessions).placements()
    stats = ReplayStats()
    first_ts: datetime | None = None
    wall0 = time.monotonic()
    pending: dict[tuple[str, datetime], dict[str, Any]] = {}

    async def emit(key: tuple[str, datetime], msg: dict[str, Any]) -> None:
        nonlocal first_ts
        machine, ts = key
        if speed > 0:
            first_ts = first_ts or ts
            due = (ts - first_ts).total_seconds() / speed - (time.monotonic() - wall0)
            if due > 0:
                await asyncio.sleep(due)
        twin = placement.get(machine)
        headers = {"replay": "1"}
        if twin is not None and twin.site and twin.line:
            headers.update(site=twin.site, line=twin.line)
        await bus.produce(topic, orjson.dumps(msg), key=machine.encode(), headers=headers)
        stats.messages += 1
        stats.readings += len(msg["readings"])

    async for rows in _rows(sessions, start, end, machine_id, chunk):
        for r in rows:
            key = (r.machine_id, r.ts)
            msg = pending.get(key)
            if msg is None:
                twin = placement.get(r.machine_id)
                msg = pending[key] = {
                    "schema": 1,
                    "machine_id": r.machine_id,
                    "ts": iso_utc(r.ts),
                    "machine_type": twin.machine_type if twin else "unknown",
                    "quality": r.quality,
                    "readings": {},
                }
            msg["readings"][r.sensor] = r.value
        # rows come in ts order: everything before the chunk's last instant is complete
        cutoff = rows[-1].ts
        for key in [k for k in pending if k[1] < cutoff]:
            await emit(key, pending.pop(key))
        await bus.flush()
    for key in sorted(pending, key=lambda k: (k[1], k[0])):
        await emit(key, pending.pop(key))
    await bus.flush()
    return stats
