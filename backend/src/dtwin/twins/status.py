"""Status watcher: turns the passage of time into online/stale/offline transitions in the change log.
Every backend process runs one; a Redis compare-and-set makes exactly one of them record each transition."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog

from dtwin.contracts.changes import StatusChange, TwinsMessage
from dtwin.twins.events import TwinEventLog
from dtwin.twins.service import AWAITING_PLACEMENT, TwinService

log = structlog.get_logger(__name__)


class StatusWatcher:
    def __init__(self, service: TwinService, events: TwinEventLog, period_s: float = 5.0) -> None:
        self.service = service
        self.events = events
        self.period_s = period_s

    async def scan(self) -> int:
        """One pass: record every status that changed since the last pass. Returns transitions recorded."""
        now = datetime.now(UTC)
        entries: list[dict[str, Any]] = []
        fields = await self._fields()
        statuses = self.service.with_status_many(
            [{"last_seen": last_seen, "attributes": attributes} for _, last_seen, _, _, attributes in fields],
            now,
        )
        for (machine_id, last_seen, known, version, _), computed in zip(fields, statuses, strict=True):
            status = computed["status"]
            if status == known:
                continue  # the common case costs no Redis call
            old = await self.service.store.claim_status_change(machine_id, status)
            if old is not None:
                entries.append(
                    {
                        "machine_id": machine_id,
                        "ts": now,
                        "kind": "status",
                        "version": version,
                        "details": {
                            "from": None if old == "new" else old,
                            "to": status,
                            "last_seen": last_seen,
                        },
                    }
                )

        await self.events.record_many(entries)
        for e in entries:
            if e["details"]["to"] == "online":
                await self._deliver_awaiting(e["machine_id"])
        if entries:
            await self.service.store.stream.emit(
                TwinsMessage(
                    items=[
                        StatusChange(
                            id=e["machine_id"], status=e["details"]["to"], last_seen=e["details"]["last_seen"]
                        )
                        for e in entries
                    ]
                )
            )
        return len(entries)

    async def _fields(self) -> list[tuple[str, str | None, str | None, int, dict[str, Any]]]:
        """(id, last_seen, known status, version, attributes) of every twin: from the in-process read model
        when it is current, else from Redis. Every backend process scans every twin each period, so reading
        them from Redis cost each process one HMGET per twin per period; the read model holds the same fields
        (a claimed transition reaches it as a `status` change). A view that lags only costs a claim that
        another process already made: the compare-and-set records each transition once either way."""
        view = self.service.view
        if view is not None and view.ready.is_set():
            return [
                (
                    t["id"],
                    t.get("last_seen"),
                    t.get("status_known"),
                    t.get("version", 0),
                    t.get("attributes") or {},
                )
                for t in view.all()
            ]
        return await self.service.store.status_fields()

    async def _deliver_awaiting(self, machine_id: str) -> None:
        """A machine that comes online may have reported its placement: a command that waited for it goes
        out now (exactly one process claimed this transition, so one sends it). When the read model is
        current and shows no command waiting for this twin's placement there is nothing to read: a fleet
        coming online at once (start-up, the end of an outage) cost one Redis read and one validation per
        twin. A command set moments ago that the read model does not show yet goes out with the
        reconciler's next pass (reconcile.py resends `awaiting_placement` commands)."""
        view = self.service.view
        if view is not None and view.ready.is_set():
            twin = view.get(machine_id)
            command = twin.get("command") if twin is not None else None
            if twin is not None and (command is None or command.get("status") != AWAITING_PLACEMENT):
                return
        try:
            await self.service.deliver_awaiting(machine_id)
        except Exception as exc:  # the command stays `undelivered`, shown on the twin; the scan goes on
            log.warning(
                "awaiting_command_not_sent", machine_id=machine_id, error=f"{type(exc).__name__}: {exc}"
            )

    async def run(self) -> None:
        while True:
            await self.scan()
            await asyncio.sleep(self.period_s)
