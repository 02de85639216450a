"""The twin change log: what changed, when, and why. Written by the API (created, attributes, desired,
deleted), the consumers (reported changes summarised per machine per minute, device acks) and the status
watcher (online/stale/offline transitions). Read newest first with cursor pagination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.changes import TwinUpdate
from dtwin.core.db import transaction
from dtwin.twins.models import TwinEventRow
from dtwin.twins.repository import TwinRepository

log = structlog.get_logger(__name__)

KINDS = ("created", "attributes", "desired", "ack", "reported", "status", "deleted")
# the actor of entries no operator makes
DEFAULT_ACTORS = {"reported": "device", "ack": "device", "status": "system"}


class TwinEventLog:
    """Appends change-log entries in their own short transaction. A failed write is logged loudly with the
    entry; it does not undo the change it describes (that already happened in the live state)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def record_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """entries: {machine_id, ts (aware datetime), kind, version, details, actor (optional: device for
        reported/ack, system for status)}"""
        if not entries:
            return
        entries = [{**e, "actor": e.get("actor") or DEFAULT_ACTORS.get(e["kind"])} for e in entries]
        try:
            async with transaction(self.sessions) as session:
                await TwinRepository(session).add_events(entries)
        except Exception:
            log.exception("twin_events_not_recorded", count=len(entries), first=str(entries[0])[:300])

    async def record(
        self,
        machine_id: str,
        ts: datetime,
        kind: str,
        details: dict[str, Any],
        version: int | None = None,
        actor: str | None = None,
    ) -> None:
        await self.record_many(
            [
                {
                    "machine_id": machine_id,
                    "ts": ts,
                    "kind": kind,
                    "version": version,
                    "details": details,
                    "actor": actor,
                }
            ]
        )

    async def page(
        self,
        machine_id: str,
        *,
        kinds: Sequence[str] | None,
        start: datetime | None,
        end: datetime | None,
        before_id: int | None,
        limit: int,
    ) -> list[TwinEventRow]:
        """The machine's entries, newest first, older than `before_id` (the cursor) if given."""
        async with self.sessions() as session:
            return await TwinRepository(session).events_page(
                machine_id, kinds=kinds, start=start, end=end, before_id=before_id, limit=limit
            )


@dataclass
class _Window:
    start: datetime
    updates: int = 0
    properties: set[str] = field(default_factory=set)
    latest: dict[str, Any] = field(default_factory=dict)


class ReportedSummarizer:
    """Turns the stream of reported changes into at most one `reported` change-log entry per machine per
    `every_s` (the first change of a machine is logged at once): which properties changed, how many updates,
    and the latest values."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self._windows: dict[str, _Window] = {}

    def observe(
        self, changed: Sequence[str], updates: Sequence[TwinUpdate], now: datetime
    ) -> list[dict[str, Any]]:
        by_id = {u.id: u for u in updates}
        due: list[dict[str, Any]] = []
        for machine_id in changed:
            u = by_id.get(machine_id)
            if u is None:
                continue
            w = self._windows.get(machine_id)
            first = w is None
            if w is None:
                w = self._windows[machine_id] = _Window(start=now)
            w.updates += 1
            values = {**u.readings, **u.reported}
            w.properties.update(values)
            w.latest.update(values)
            if first or (now - w.start).total_seconds() >= self.every_s:
                due.append(
                    {
                        "machine_id": machine_id,
                        "ts": now,
                        "kind": "reported",
                        "version": None,
                        "details": {
                            "since": w.start.isoformat(),
                            "updates": w.updates,
                            "properties": sorted(w.properties),
                            "latest": dict(w.latest),
                        },
                    }
                )
                self._windows[machine_id] = _Window(start=now)
        return due
