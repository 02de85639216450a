"""Kafka `twin.desired` -> MQTT `plant/{site}/{line}/{machine_id}/desired`, so the backend never speaks MQTT.

Each desired document is published **retained** (QoS 1): the broker keeps the newest one per device topic and
hands it to a device as soon as it (re)subscribes, so a device that was offline, rebooted or reconnected gets
the current desired state without waiting for a new command.

Offsets are committed only after every command of a batch was acknowledged by the MQTT broker (QoS 1);
while MQTT is down the batch is held and retried. Commands for one machine keep their order (one partition
per machine, published sequentially)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiomqtt
import structlog

from dtwin.contracts.commands import DesiredCommand, parse_desired
from dtwin.contracts.telemetry import Rejection
from dtwin.contracts.topics import mqtt_topic
from dtwin.kit.bus import BusMessage, TelemetryBus
from dtwin.kit.dlq import send_to_dlq
from dtwin_pipeline.bridge.metrics import BridgeMetrics

log = structlog.get_logger(__name__)


class CommandForwarder:
    def __init__(
        self,
        bus: TelemetryBus,
        *,
        topic: str,
        dlq_topic: str,
        group: str,
        metrics: BridgeMetrics,
        client: Callable[[], aiomqtt.Client | None],
        connected: asyncio.Event,
    ) -> None:
        self.bus = bus
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.group = group
        self.metrics = metrics
        self._client = client
        self._connected = connected

    async def run(self) -> None:
        consumer = self.bus.consumer([self.topic], self.group)
        try:
            await consumer.start()
            log.info("commands_consumer_started", topic=self.topic, group=self.group)
            while True:
                msgs = await consumer.getmany(200, 500)
                self.metrics.command_lag.set(await consumer.lag())
                if not msgs:
                    continue
                for m in msgs:
                    await self._deliver(m)
                await self.bus.flush()
                await consumer.commit()
        finally:
            await consumer.stop()

    async def _deliver(self, m: BusMessage) -> None:
        cmd = parse_desired(m.value)
        if isinstance(cmd, Rejection):
            await send_to_dlq(self.bus, self.dlq_topic, m, cmd, stage="bridge-commands")
            self.metrics.rejected.labels("desired").inc()
            return
        await self.publish(cmd)

    async def publish(self, cmd: DesiredCommand) -> None:
        topic = mqtt_topic(cmd.site, cmd.line, cmd.machine_id, "desired")
        payload = cmd.device_payload()
        while True:
            await self._connected.wait()
            client = self._client()
            if client is None:
                await asyncio.sleep(0.1)
                continue
            try:
                await client.publish(topic, payload, qos=1, retain=True)
                self.metrics.commands.inc()
                return
            except aiomqtt.MqttError as exc:
                log.warning("command_publish_failed", machine_id=cmd.machine_id, error=str(exc))
                await asyncio.sleep(0.5)
