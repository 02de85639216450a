"""The bridge: MQTT telemetry in -> validated -> Kafka `telemetry.raw` out (key = machine id, headers
site/line); rejects -> `telemetry.dlq` with the reason. Reconnects to either side with backoff and jitter.

Delivery: the bridge awaits Kafka's acknowledgement of everything in flight every `flush_every` messages
and at least every `flush_interval_s`, so a Kafka failure is noticed within that window and the bridge
backs off and reconnects instead of piling messages up in memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import aiomqtt
import structlog

from dtwin.contracts.dlq import dead_letter
from dtwin.contracts.telemetry import Rejection, parse_telemetry
from dtwin.contracts.topics import MQTT_TELEMETRY_FILTER, parse_mqtt_topic
from dtwin.core.bus import KafkaBus, TelemetryBus
from dtwin_pipeline.backoff import Backoff
from dtwin_pipeline.mqtt import MqttTarget

log = structlog.get_logger(__name__)


@dataclass
class BridgeConfig:
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_acks: str = "all"
    kafka_idempotence: bool = False
    kafka_linger_ms: int = 5
    topic_telemetry: str = "telemetry.raw"
    topic_dlq: str = "telemetry.dlq"
    partitions: int = 6
    mqtt_filter: str = MQTT_TELEMETRY_FILTER
    client_id: str = "dtwin-bridge"
    flush_every: int = 5000
    flush_interval_s: float = 0.5
    # 0 = unbounded: aiomqtt discards messages past a bound, after paho already acknowledged them to the
    # broker (silent loss). Until intake is throttled with manual acks (issue 3) we take memory over loss.
    max_queued: int = 0


@dataclass
class BridgeStats:
    received: int = 0
    forwarded: int = 0
    rejected: int = 0
    connected_mqtt: bool = False
    started: float = field(default_factory=time.monotonic)


def check_message(topic: str, payload: bytes) -> tuple[str, dict[str, str]] | Rejection:
    """Validate one MQTT message: (machine_id, headers) to forward, or the reason to reject it."""
    parts = parse_mqtt_topic(topic)
    if parts is None or parts[3] != "telemetry":
        return Rejection(
            f"unexpected topic {topic!r}: expected plant/{{site}}/{{line}}/{{machine_id}}/telemetry"
        )
    site, line, topic_machine, _ = parts
    parsed = parse_telemetry(payload)
    if isinstance(parsed, Rejection):
        return Rejection(parsed.reason, parsed.machine_id or topic_machine)
    if parsed.machine_id != topic_machine:
        return Rejection(
            f"machine_id {parsed.machine_id!r} does not match the topic's machine {topic_machine!r}",
            topic_machine,
        )
    return parsed.machine_id, {"site": site, "line": line}


class Bridge:
    def __init__(self, cfg: BridgeConfig, bus: TelemetryBus | None = None) -> None:
        self.cfg = cfg
        self.bus: TelemetryBus = bus or KafkaBus(
            cfg.kafka_bootstrap,
            acks=cfg.kafka_acks,
            idempotence=cfg.kafka_idempotence,
            linger_ms=cfg.kafka_linger_ms,
            client_id=cfg.client_id,
        )
        self.stats = BridgeStats()
        self.ready = asyncio.Event()
        self._unflushed = 0
        self._last_flush = time.monotonic()

    async def handle(self, topic: str, payload: bytes) -> None:
        self.stats.received += 1
        checked = check_message(topic, payload)
        if isinstance(checked, Rejection):
            self.stats.rejected += 1
            await self.bus.produce(
                self.cfg.topic_dlq,
                dead_letter(
                    payload,
                    checked.reason,
                    stage="bridge",
                    source=f"mqtt:{topic}",
                    machine_id=checked.machine_id,
                ),
                key=checked.machine_id.encode() if checked.machine_id else None,
            )
        else:
            machine_id, headers = checked
            await self.bus.produce(
                self.cfg.topic_telemetry, payload, key=machine_id.encode(), headers=headers
            )
            self.stats.forwarded += 1
        self._unflushed += 1
        if self._unflushed >= self.cfg.flush_every:
            await self.flush()

    async def flush(self) -> None:
        self._unflushed = 0
        self._last_flush = time.monotonic()
        await self.bus.flush()

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.flush_interval_s)
            if self._unflushed and time.monotonic() - self._last_flush >= self.cfg.flush_interval_s:
                await self.flush()

    async def _start_kafka(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self.bus.start()
                await self.bus.ensure_topics(
                    {self.cfg.topic_telemetry: self.cfg.partitions, self.cfg.topic_dlq: 1}
                )
                return
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await self.bus.stop()
                delay = backoff.next_delay()
                log.warning("bridge_kafka_unavailable", error=str(exc), retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)

    async def run(self) -> None:
        """Run until cancelled; on cancel, flush what is in flight and stop."""
        target = MqttTarget.from_url(self.cfg.mqtt_url, self.cfg.mqtt_username, self.cfg.mqtt_password)
        await self._start_kafka()
        backoff = Backoff()
        flusher = asyncio.create_task(self._flusher(), name="bridge-flusher")
        try:
            while True:
                try:
                    async with target.client(max_queued_incoming=self.cfg.max_queued) as client:
                        await client.subscribe(self.cfg.mqtt_filter, qos=1)
                        self.stats.connected_mqtt = True
                        backoff.reset()
                        self.ready.set()
                        log.info(
                            "bridge_connected",
                            mqtt=f"{target.host}:{target.port}",
                            kafka=self.cfg.kafka_bootstrap,
                            filter=self.cfg.mqtt_filter,
                        )
                        async for message in client.messages:
                            payload = message.payload
                            if not isinstance(payload, bytes | bytearray):
                                payload = str(payload).encode()
                            await self.handle(message.topic.value, bytes(payload))
                except aiomqtt.MqttError as exc:
                    self.stats.connected_mqtt = False
                    self.ready.clear()
                    delay = backoff.next_delay()
                    log.warning("bridge_mqtt_disconnected", error=str(exc), retry_in_s=round(delay, 2))
                    await asyncio.sleep(delay)
                except Exception as exc:  # Kafka delivery failed: reconnect the producer, then MQTT
                    self.stats.connected_mqtt = False
                    self.ready.clear()
                    log.error("bridge_kafka_failed", error=f"{type(exc).__name__}: {exc}")
                    with contextlib.suppress(Exception):
                        await self.bus.stop()
                    await asyncio.sleep(backoff.next_delay())
                    await self._start_kafka()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await flusher
            with contextlib.suppress(Exception):
                await self.bus.flush()
            await self.bus.stop()
            log.info(
                "bridge_stopped",
                received=self.stats.received,
                forwarded=self.stats.forwarded,
                rejected=self.stats.rejected,
            )
