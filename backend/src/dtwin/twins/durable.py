"""The durable copies of twin state, used to rebuild Redis:

- `TwinRegistry`: identity, placement, attributes and desired state in PostgreSQL/SQLite (`twins` table).
- `StateSnapshots`: the whole Redis hash of a twin on the compacted Kafka topic `twin.state` (key = machine
  id): at once for operator changes (create, attributes, desired, acks), at most every `every_s` per machine
  for telemetry. A deleted twin gets a `null` tombstone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.changes import TwinUpdate
from dtwin.core.db import transaction
from dtwin.kit.bus import Record, TelemetryBus
from dtwin.kit.spread import done_at
from dtwin.twins.models import TwinRow
from dtwin.twins.repository import TwinRepository
from dtwin.twins.schemas import TwinPlacement
from dtwin.twins.store import TwinStore


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else datetime.now(UTC)


class TwinRegistry:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._known: set[str] = set()

    async def register_new(self, updates: Sequence[TwinUpdate]) -> None:
        """Twins that registered themselves by telemetry: insert identity once (known ids are cached)."""
        new = [u for u in updates if u.id not in self._known]
        if not new:
            return
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = [
            {
                "id": u.id,
                "machine_type": u.machine_type,
                "site": u.site,
                "line": u.line,
                "attributes": {},
                "desired": {},
                "desired_version": 0,
                "created_at": now,
                "updated_at": now,
            }
            for u in new
        ]
        async with transaction(self.sessions) as session:
            await TwinRepository(session).add_new(rows)
        self._known.update(u.id for u in new)

    async def save(self, twin: dict[str, Any]) -> None:
        """Upsert a twin's durable part from its live state (after an operator change)."""
        row = {
            "id": twin["id"],
            "machine_type": twin["machine_type"],
            "site": twin["site"],
            "line": twin["line"],
            "attributes": twin["attributes"],
            "desired": twin["desired"],
            "desired_version": twin["desired_version"],
            "command": twin.get("command"),
            "created_at": _dt(twin.get("created_at")),
            "updated_at": _dt(twin.get("updated_at")),
        }
        async with transaction(self.sessions) as session:
            await TwinRepository(session).upsert(row)
        self._known.add(twin["id"])

    async def save_command(self, machine_id: str, command: dict[str, Any] | None, at: datetime) -> None:
        """Keep a device's answer (the command outcome) with the desired state."""
        async with transaction(self.sessions) as session:
            await TwinRepository(session).set_command(machine_id, command, at)

    async def delete(self, machine_id: str) -> None:
        async with transaction(self.sessions) as session:
            await TwinRepository(session).delete(machine_id)
        self._known.discard(machine_id)

    async def all(self) -> list[TwinRow]:
        async with self.sessions() as session:
            return await TwinRepository(session).all()

    async def placements(self) -> dict[str, TwinPlacement]:
        """Type, site and line of every registered twin, by id (for tools that re-feed stored readings)."""
        return {row.id: TwinPlacement.model_validate(row) for row in await self.all()}


class StateSnapshots:
    def __init__(self, bus: TelemetryBus, topic: str, store: TwinStore, every_s: float = 10.0) -> None:
        self.bus = bus
        self.topic = topic
        self.store = store
        self.every_s = every_s
        self._last: dict[str, float] = {}

    async def publish(self, machine_ids: Iterable[str]) -> list[asyncio.Future[Any]]:
        """Snapshot these twins now. Returns the delivery futures (the consumer's flush before its commit
        makes batch snapshots durable; API changes await theirs)."""
        ids = list(dict.fromkeys(machine_ids))
        raws = await self.store.snapshots(ids)
        now = time.monotonic()
        records: list[Record] = []
        for machine_id, raw in zip(ids, raws, strict=True):
            if raw is not None:
                records.append((machine_id.encode(), raw, None))
                # a twin's first snapshot counts as taken up to a period earlier, by a phase of its id
                # (kit/spread.py): a fleet met in one batch is snapshotted over the period afterwards,
                # not all in one batch every period
                self._last[machine_id] = done_at(self._last, machine_id, now, self.every_s)
        return await self.bus.produce_many(self.topic, records) if records else []

    async def after_batch(self, changed: Sequence[str]) -> None:
        now = time.monotonic()
        due = [m for m in changed if now - self._last.get(m, float("-inf")) >= self.every_s]
        if due:
            await self.publish(due)

    async def tombstone(self, machine_id: str) -> asyncio.Future[Any]:
        self._last.pop(machine_id, None)
        return await self.bus.produce(self.topic, b"null", key=machine_id.encode())


@dataclass
class Durability:
    """What an operator change must also write so the twin survives a Redis loss."""

    registry: TwinRegistry
    snapshots: StateSnapshots

    async def saved(self, twin: dict[str, Any]) -> None:
        await self.registry.save(twin)
        for fut in await self.snapshots.publish([twin["id"]]):
            await asyncio.wait_for(fut, 10)

    async def deleted(self, machine_id: str) -> None:
        await self.registry.delete(machine_id)
        await asyncio.wait_for(await self.snapshots.tombstone(machine_id), 10)
