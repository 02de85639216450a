"""Consumes device acknowledgements (Kafka `twin.acks`) and records each command's outcome on its twin."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from dtwin.contracts.commands import DeviceAck, parse_ack
from dtwin.contracts.telemetry import Rejection, iso_utc
from dtwin.kit.bus import TelemetryBus
from dtwin.kit.dlq import send_to_dlq
from dtwin.kit.failures import describe, is_infrastructure
from dtwin.twins.durable import StateSnapshots, TwinRegistry
from dtwin.twins.events import TwinEventLog
from dtwin.twins.store import TwinStore

log = structlog.get_logger(__name__)


class AckConsumer:
    def __init__(
        self,
        bus: TelemetryBus,
        store: TwinStore,
        *,
        topic: str,
        dlq_topic: str,
        group: str,
        events: TwinEventLog | None = None,
        snapshots: StateSnapshots | None = None,
        registry: TwinRegistry | None = None,
    ) -> None:
        self.snapshots = snapshots
        self.registry = registry
        self.bus = bus
        self.store = store
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.group = group
        self.events = events
        self.recorded = 0

    async def run(self) -> None:
        consumer = self.bus.consumer([self.topic], self.group)
        try:
            await consumer.start()
            while True:
                msgs = await consumer.getmany(200, 1000)
                if not msgs:
                    continue
                now = iso_utc(datetime.now(UTC))
                for m in msgs:
                    ack = parse_ack(m.value)
                    if isinstance(ack, Rejection):
                        await send_to_dlq(self.bus, self.dlq_topic, m, ack, stage="consumer-acks")
                        continue
                    try:
                        await self._record(ack, now)
                    except Exception as exc:
                        if is_infrastructure(exc):
                            raise  # the supervisor restarts us; the uncommitted acks come again
                        # this ack itself cannot be recorded: set it aside, the others go on
                        log.error(
                            "poison_ack", machine_id=ack.machine_id, error=describe(exc), offset=m.offset
                        )
                        reason = f"could not be recorded: {describe(exc)}"
                        rejection = Rejection(reason, ack.machine_id, "processing")
                        await send_to_dlq(self.bus, self.dlq_topic, m, rejection, stage="consumer-acks")
                await self.bus.flush()
                await consumer.commit()
        finally:
            await consumer.stop()

    async def _record(self, ack: DeviceAck, now: str) -> None:
        if await self.store.record_ack(
            ack.machine_id, ack.version, ack.status, ack.applied, ack.rejected, iso_utc(ack.ts), now
        ):
            self.recorded += 1
            if self.events is not None:
                details = ack.model_dump(mode="json", include={"version", "status", "applied", "rejected"})
                await self.events.record(ack.machine_id, ack.ts, "ack", details, None)
            if self.registry is not None:  # the outcome survives a Redis loss with the desired state
                command = {
                    "version": ack.version,
                    "status": ack.status,
                    "applied": ack.applied,
                    "rejected": ack.rejected,
                    "ts": iso_utc(ack.ts),
                }
                await self.registry.save_command(ack.machine_id, command, datetime.now(UTC))
            if self.snapshots is not None:
                await self.snapshots.publish([ack.machine_id])
