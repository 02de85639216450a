"""Twin rules: live state from Redis, desired-state changes published to Kafka for the devices."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog

from dtwin.contracts.commands import DesiredCommand
from dtwin.contracts.telemetry import iso_utc
from dtwin.core.bus import TelemetryBus
from dtwin.errors import DtwinError, InvalidInput, NotFound, PreconditionFailed
from dtwin.twins.schemas import DesiredState, TwinList, TwinRead
from dtwin.twins.store import PreconditionMismatch, TwinStore

log = structlog.get_logger(__name__)

MAX_DESIRED_BYTES = 16 * 1024
MAX_DEPTH = 5


class CommandNotDelivered(DtwinError):
    status = 503
    title = "Command not delivered"


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    return level


class TwinService:
    def __init__(
        self, store: TwinStore, bus: TelemetryBus | None = None, desired_topic: str = "twin.desired"
    ) -> None:
        self.store = store
        self.bus = bus
        self.desired_topic = desired_topic

    async def list(self) -> TwinList:
        items = [TwinRead.model_validate(t) for t in await self.store.get_all()]
        return TwinList(items=items, count=len(items))

    async def get(self, machine_id: str) -> TwinRead:
        twin = await self.store.get(machine_id)
        if twin is None:
            raise NotFound(f"no twin with id {machine_id!r}")
        return TwinRead.model_validate(twin)

    async def ensure_exists(self, machine_id: str) -> None:
        if not await self.store.exists(machine_id):
            raise NotFound(f"no twin with id {machine_id!r}")

    async def desired(self, machine_id: str) -> DesiredState:
        return _desired_state(await self.get(machine_id))

    async def patch_desired(self, machine_id: str, patch: Any, if_match: int | None) -> DesiredState:
        """Apply a JSON merge patch to the desired state (optionally only if the desired version is
        `if_match`) and hand the new desired state to the devices via Kafka `twin.desired`."""
        if not isinstance(patch, dict):
            raise InvalidInput("a merge patch for desired state must be a JSON object")
        if _depth(patch) > MAX_DEPTH:
            raise InvalidInput(f"desired state may nest at most {MAX_DEPTH} levels")
        now = iso_utc(datetime.now(UTC))
        try:
            twin = await self.store.update_desired(machine_id, patch, if_match, now)
        except PreconditionMismatch as exc:
            raise PreconditionFailed(
                f"If-Match {if_match} does not match the current desired version {exc.current}; "
                "GET the twin and retry"
            ) from exc
        if twin is None:
            raise NotFound(f"no twin with id {machine_id!r}")
        read = TwinRead.model_validate(twin)
        if read.site is None or read.line is None:
            await self.store.set_command_status(machine_id, read.desired_version, "undelivered", now)
            raise CommandNotDelivered("the twin has no site/line yet, so its device topic is unknown")
        await self._publish(read)
        return _desired_state(read)

    async def _publish(self, twin: TwinRead) -> None:
        assert self.bus is not None
        assert twin.site is not None
        assert twin.line is not None
        cmd = DesiredCommand(
            machine_id=twin.id,
            site=twin.site,
            line=twin.line,
            version=twin.desired_version,
            desired=twin.desired,
            ts=datetime.now(UTC),
        )
        try:
            fut = await self.bus.produce(
                self.desired_topic, cmd.model_dump_json(by_alias=True).encode(), key=twin.id.encode()
            )
            await asyncio.wait_for(fut, 10)
        except Exception as exc:
            log.error("desired_publish_failed", machine_id=twin.id, error=str(exc))
            await self.store.set_command_status(
                twin.id, twin.desired_version, "undelivered", iso_utc(datetime.now(UTC))
            )
            raise CommandNotDelivered(f"desired state stored but not handed to Kafka: {exc}") from exc


def _desired_state(twin: TwinRead) -> DesiredState:
    return DesiredState(
        machine_id=twin.id,
        desired=twin.desired,
        version=twin.desired_version,
        delta=twin.delta,
        command=twin.command,
    )
