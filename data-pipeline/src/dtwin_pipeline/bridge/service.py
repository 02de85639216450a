"""The bridge: the only door between devices (MQTT) and the platform (Kafka).

In: `plant/{site}/{line}/{machine_id}/telemetry` -> validated -> Kafka `telemetry.raw` (key = machine id,
headers site/line); `.../ack` -> `twin.acks`. Rejects -> `telemetry.dlq` with the reason and a bounded copy of
the payload (its first bytes, size and hash: a dead letter is never too large for its topic). A record Kafka
refuses for what it is (not because Kafka is unavailable) is logged, counted and acknowledged: one message
never stops the bridge.
Out: Kafka `twin.desired` -> `.../desired` (see commands.py).

Delivery: MQTT 5 QoS 1, read by `intake.py` on a persistent session (clean start off, stable client id). A
message is acknowledged to the broker only once Kafka has acknowledged what the bridge produced for it
(PUBACKs in arrival order), so a bridge crash or a Kafka failure means redelivery, not loss (at least once).
The Receive Maximum bounds what is unacknowledged, so a slow Kafka slows MQTT intake instead of growing
memory. Telemetry goes to Kafka in one record batch per partition per pass (`TelemetryBus.produce_many`);
under load a pass takes everything since the last one, at most one pass per `forward_interval_s`.
Several bridges share the load through an MQTT shared subscription (`$share/<group>/...`). Desired state goes
out on a connection of its own (aiomqtt; commands.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import structlog
from opentelemetry.trace import SpanKind

from dtwin.contracts.commands import parse_ack
from dtwin.contracts.dlq import dead_letter
from dtwin.contracts.limits import DEFAULT_LIMITS, PLACEMENT_PATTERN, Limits
from dtwin.contracts.telemetry import Rejection, parse_telemetry, valid_machine_id, valid_placement
from dtwin.contracts.topics import MQTT_ACK_FILTER, MQTT_TELEMETRY_FILTER, parse_mqtt_topic
from dtwin.kit.bus import Record, TelemetryBus, build_bus, produce_or_refusal
from dtwin.kit.failures import is_infrastructure
from dtwin.kit.tracing import KEEP, TRACEPARENT, Tracing, as_parent, inject, remote_context, setup_tracing
from dtwin_pipeline.backoff import Backoff
from dtwin_pipeline.bridge.commands import CommandForwarder
from dtwin_pipeline.bridge.intake import Incoming, IntakeError, MqttIntake
from dtwin_pipeline.bridge.metrics import BridgeMetrics
from dtwin_pipeline.mqtt import MqttTarget

log = structlog.get_logger(__name__)
IDENTITY = "identity"  # DLQ code: the payload's machine_id is not the machine its topic (and login) names


@dataclass
class BridgeConfig:
    """One bridge process. Its `kafka_*` fields are what `build_bus` reads (dtwin.kit.bus.BusSettings)."""

    mqtt: MqttTarget = field(default_factory=lambda: MqttTarget("127.0.0.1", 1883))
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_acks: str = "all"
    kafka_idempotence: bool = False
    kafka_linger_ms: int = 5
    topic_telemetry: str = "telemetry.raw"
    topic_dlq: str = "telemetry.dlq"
    topic_desired: str = "twin.desired"
    topic_acks: str = "twin.acks"
    partitions: int = 6
    telemetry_filter: str = MQTT_TELEMETRY_FILTER
    ack_filter: str = MQTT_ACK_FILTER
    shared_group: str | None = "bridge"
    client_id: str = field(default_factory=lambda: f"dtwin-bridge-{socket.gethostname()}")
    command_group: str = "dtwin-bridge-commands"
    commands: bool = True
    flush_interval_s: float = 0.5
    # under load, what MQTT delivered goes to Kafka at most once per interval (one record batch per partition
    # per pass: fewer, larger batches); a pass after a quiet spell goes at once
    forward_interval_s: float = 0.05
    receive_maximum: int = 2000  # QoS 1 messages the broker may have unacknowledged with us at once
    keepalive_s: int = 30
    limits: Limits = DEFAULT_LIMITS
    metrics_port: int | None = None
    stats_interval_s: float = 30.0
    otlp_endpoint: str | None = None  # traces (kit/tracing.py); None: off
    trace_sample_ratio: float = 0.01

    def subscription(self, topic_filter: str) -> str:
        return f"$share/{self.shared_group}/{topic_filter}" if self.shared_group else topic_filter


@dataclass
class BridgeStats:
    received: int = 0
    forwarded: int = 0
    rejected: int = 0
    acks: int = 0


def check_telemetry(
    topic: str, payload: bytes, now: datetime, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[str, dict[str, str]] | Rejection:
    """Validate one telemetry message: (machine_id, headers) to forward, or the reason to reject it.

    The contract's checks and limits (`parse_telemetry`), including the clock rule: timestamps are
    normalised to UTC; a message more than `limits.max_future_skew_s` ahead of the bridge's clock (a device
    clock running fast) or older than `limits.max_age_s` is rejected. Late data within that window is
    forwarded unchanged: per-property timestamps downstream keep it from overwriting newer values."""
    parts = parse_mqtt_topic(topic)
    if parts is None or parts[3] != "telemetry":
        return Rejection(
            f"unexpected topic {topic[:200]!r}: expected plant/{{site}}/{{line}}/{{machine_id}}/telemetry",
            code="topic",
        )
    site, line, topic_machine, _ = parts

    def hint() -> str | None:  # the topic's machine, for a rejection (only then is it checked)
        return topic_machine if valid_machine_id(topic_machine) else None

    for name, value in (("site", site), ("line", line)):
        if not valid_placement(value):
            return Rejection(f"topic {name} {value[:80]!r} must match {PLACEMENT_PATTERN}", hint(), "topic")
    parsed = parse_telemetry(payload, limits=limits, now=now)
    if isinstance(parsed, Rejection):
        return Rejection(parsed.reason, parsed.machine_id or hint(), parsed.code)
    if parsed.machine_id != topic_machine:
        # the topic is the device's identity (the broker's ACL ties it to the credentials): a payload
        # speaking for another machine is refused as an identity failure, never forwarded under either id
        return Rejection(
            f"machine_id {parsed.machine_id!r} does not match the topic's machine {topic_machine[:128]!r}",
            hint(),
            IDENTITY,
        )
    return parsed.machine_id, {"site": site, "line": line}


def check_ack(topic: str, payload: bytes) -> str | Rejection:
    parts = parse_mqtt_topic(topic)
    if parts is None or parts[3] != "ack":
        return Rejection(f"unexpected topic {topic!r}")
    ack = parse_ack(payload)
    if isinstance(ack, Rejection):
        return Rejection(ack.reason, ack.machine_id or parts[2])
    if ack.machine_id != parts[2]:
        return Rejection(
            f"machine_id {ack.machine_id!r} does not match the topic's machine {parts[2][:128]!r}",
            parts[2],
            IDENTITY,
        )
    return ack.machine_id


def _traceparent(message: Incoming) -> str | None:
    """A W3C `traceparent` the device sent as an MQTT v5 user property, if any."""
    for key, value in message.user_properties or ():
        if key == TRACEPARENT:
            return value
    return None


Done = Callable[[int], None]  # acknowledges one MQTT message (by packet id) once it is stored


class Bridge:
    def __init__(
        self, cfg: BridgeConfig, bus: TelemetryBus | None = None, tracing: Tracing | None = None
    ) -> None:
        self.cfg = cfg
        self.tracing = tracing or setup_tracing(
            "dtwin-bridge", endpoint=cfg.otlp_endpoint, ratio=cfg.trace_sample_ratio
        )
        self.bus: TelemetryBus = bus or build_bus(cfg, client_id=cfg.client_id)
        self.stats = BridgeStats()
        self.metrics = BridgeMetrics()
        m = self.metrics
        self._count = {  # label children bound once: the hot path counts per batch, not per message
            "received_telemetry": m.received.labels("telemetry"),
            "received_ack": m.received.labels("ack"),
            "rejected_telemetry": m.rejected.labels("telemetry"),
            "rejected_ack": m.rejected.labels("ack"),
            "forwarded_telemetry": m.forwarded.labels(cfg.topic_telemetry),
            "forwarded_acks": m.forwarded.labels(cfg.topic_acks),
        }
        self.ready = asyncio.Event()
        self._commands_client: aiomqtt.Client | None = None
        self._commands_connected = asyncio.Event()
        self._inflight = 0
        self._failure: BaseException | None = None
        self._incoming: list[Incoming] = []
        self._wake = asyncio.Event()
        self._full = asyncio.Event()  # a pass's worth is waiting: no need to wait out the interval
        self._full_at = max(1, cfg.receive_maximum // 2)
        self._resends: set[asyncio.Task[None]] = set()  # refused batches sent again record by record

    # -------------------------------------------------------------------------------------------- intake
    async def forward(self, batch: list[Incoming], done: Done) -> None:
        """Route what one MQTT read delivered to Kafka: telemetry in per-partition record batches, acks and
        dead letters one by one; each message is acknowledged to MQTT (`done`) once Kafka acknowledged what
        the bridge produced for it. A traced message (sampled here, or a device's sampled `traceparent`)
        gets a `bridge.forward` span whose context travels in the record's headers."""
        now = datetime.now(UTC)
        limits, tracing = self.cfg.limits, self.tracing.enabled
        records: list[Record] = []
        sent: list[Incoming] = []
        acks = rejected = rejected_acks = 0
        for m in batch:
            topic = m.topic
            if topic.endswith("/ack"):
                acks += 1
                checked_ack = check_ack(topic, m.payload)
                if isinstance(checked_ack, Rejection):
                    rejected_acks += 1
                    fut = await self._reject(m, checked_ack, "ack")
                else:
                    fut = await produce_or_refusal(
                        self.bus, self.cfg.topic_acks, m.payload, checked_ack.encode()
                    )
                    self.stats.acks += 1
                    self._count["forwarded_acks"].inc()
                self._track(fut, [m], None, done)
                continue
            checked = check_telemetry(topic, m.payload, now, limits=limits)
            if isinstance(checked, Rejection):
                rejected += 1
                self._track(await self._reject(m, checked, "telemetry"), [m], None, done)
                continue
            machine_id, headers = checked
            if tracing:
                headers = self._traced(topic, _traceparent(m), headers)
            records.append((machine_id.encode(), m.payload, headers))
            sent.append(m)
        if records:
            futures = await self.bus.produce_many(self.cfg.topic_telemetry, records)
            groups: dict[int, tuple[asyncio.Future[Any], list[Incoming], list[Record]]] = {}
            for fut, m, r in zip(futures, sent, records, strict=True):
                g = groups.get(id(fut))
                if g is None:
                    groups[id(fut)] = (fut, [m], [r])
                else:
                    g[1].append(m)
                    g[2].append(r)
            for fut, msgs, recs in groups.values():
                self._track(fut, msgs, recs, done)
        n_telemetry = len(batch) - acks
        self.stats.received += len(batch)
        self.stats.forwarded += len(records)
        self.stats.rejected += rejected + rejected_acks
        c = self._count
        if n_telemetry:
            c["received_telemetry"].inc(n_telemetry)
        if acks:
            c["received_ack"].inc(acks)
        if records:
            c["forwarded_telemetry"].inc(len(records))
        if rejected:
            c["rejected_telemetry"].inc(rejected)
        if rejected_acks:
            c["rejected_ack"].inc(rejected_acks)
        self.metrics.inflight.set(self._inflight)

    def _traced(self, topic: str, traceparent: str | None, headers: dict[str, str]) -> dict[str, str]:
        """The record's headers with a `bridge.forward` span's context, when this message is traced."""
        parent = remote_context({TRACEPARENT: traceparent}) if traceparent else None
        if parent is None and not self.tracing.start_here():
            return headers
        with self.tracing.tracer.start_as_current_span(
            "bridge.forward",
            context=as_parent(parent) if parent is not None else None,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.destination.name": self.cfg.topic_telemetry,
                "mqtt.topic": topic,
                KEEP: True,
            },
        ) as span:
            traced = dict(headers)
            inject(span, traced)
            return traced

    async def _reject(self, m: Incoming, rej: Rejection, kind: str) -> asyncio.Future[Any]:
        record = dead_letter(
            m.payload,
            rej.reason,
            stage="bridge",
            source=f"mqtt:{m.topic}",
            machine_id=rej.machine_id,
            code=rej.code,
            keep_bytes=self.cfg.limits.dlq_payload_bytes,
        )
        return await produce_or_refusal(
            self.bus, self.cfg.topic_dlq, record, rej.machine_id.encode() if rej.machine_id else None
        )

    def _track(
        self, fut: asyncio.Future[Any], msgs: list[Incoming], records: list[Record] | None, done: Done
    ) -> None:
        """Acknowledge `msgs` to MQTT once `fut` (their Kafka delivery) succeeds. Kafka unavailable: no
        acknowledgement (the session redelivers them after the reconnect this failure causes). Kafka refusing
        what was sent (too large, invalid): a batch of several is sent again record by record to find the
        one refused; a single refused record is counted, logged and acknowledged, since it would be refused
        every time and redelivery would stop everything behind it."""
        self._inflight += len(msgs)

        def delivered(f: asyncio.Future[Any]) -> None:
            self._inflight -= len(msgs)
            self.metrics.inflight.set(self._inflight)
            exc = RuntimeError("delivery cancelled") if f.cancelled() else f.exception()
            if exc is not None:
                if is_infrastructure(exc) or f.cancelled():
                    self._failure = exc
                    return
                if records is not None and len(records) > 1:
                    task = asyncio.get_running_loop().create_task(self._one_by_one(msgs, records, done))
                    self._resends.add(task)  # held: the loop keeps only a weak reference
                    task.add_done_callback(self._resends.discard)
                    return
                self.metrics.refused.inc()
                placed = parse_mqtt_topic(msgs[0].topic)
                log.error(
                    "bridge_record_refused",
                    error=f"{type(exc).__name__}: {exc}"[:300],
                    machine_id=placed[2][:128] if placed else None,
                    mqtt_topic=msgs[0].topic[:200],
                    payload_bytes=len(msgs[0].payload),
                )
            for m in msgs:
                if m.packet_id is not None:
                    done(m.packet_id)

        fut.add_done_callback(delivered)

    async def _one_by_one(self, msgs: list[Incoming], records: list[Record], done: Done) -> None:
        try:
            for m, (key, value, headers) in zip(msgs, records, strict=True):
                fut = await produce_or_refusal(self.bus, self.cfg.topic_telemetry, value, key, headers)
                self._track(fut, [m], [(key, value, headers)], done)
        except Exception as exc:  # an unavailable Kafka: unacknowledged, redelivered after the reconnect
            self._failure = exc

    # ------------------------------------------------------------------------------------------- running
    def _received(self, batch: list[Incoming]) -> None:
        """The intake's callback: what a read completed, handed to the forwarding loop."""
        self._incoming.extend(batch)
        self._wake.set()
        if len(self._incoming) >= self._full_at:
            self._full.set()

    async def _forwarding(self, intake: MqttIntake) -> None:
        """Forward what arrives, all reads since the last pass at a time, in arrival order; a pass starts at
        least `forward_interval_s` after the previous one started, so under load each pass carries an
        interval's messages (one record batch per partition) instead of one read's. Half the Receive Maximum
        waiting starts a pass at once: the broker sends no more until those are acknowledged, so waiting
        would only cap a backlog's drain."""
        loop, interval, last = asyncio.get_running_loop(), self.cfg.forward_interval_s, -1e9
        while True:
            await self._wake.wait()
            wait = last + interval - loop.time()
            if wait > 0 and len(self._incoming) < self._full_at:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), wait)
            last = loop.time()
            self._wake.clear()
            batch, self._incoming = self._incoming, []
            if batch:
                await self.forward(batch, intake.done)
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.flush_interval_s)
            await self.bus.flush()  # surfaces delivery errors; acks go out from the futures' callbacks
            if self._failure is not None:
                self._wake.set()  # the forwarding loop raises it

    async def _stats_logger(self) -> None:
        last, last_t = 0, time.monotonic()
        while True:
            await asyncio.sleep(self.cfg.stats_interval_s)
            now = time.monotonic()
            log.info(
                "bridge_stats",
                received=self.stats.received,
                forwarded=self.stats.forwarded,
                rejected=self.stats.rejected,
                acks=self.stats.acks,
                inflight=self._inflight,
                per_s=round((self.stats.received - last) / (now - last_t), 1),
            )
            last, last_t = self.stats.received, now

    async def _start_kafka(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self.bus.start()
                await self.bus.ensure_topics(
                    {
                        self.cfg.topic_telemetry: self.cfg.partitions,
                        self.cfg.topic_dlq: 1,
                        self.cfg.topic_desired: self.cfg.partitions,
                        self.cfg.topic_acks: self.cfg.partitions,
                    }
                )
                return
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await self.bus.stop()
                delay = backoff.next_delay()
                log.warning("bridge_kafka_unavailable", error=str(exc), retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)

    async def _session(self, target: MqttTarget, backoff: Backoff) -> None:
        """One intake connection on the bridge's persistent session (clean start off: what arrived while
        we were away, and what was unacknowledged when we went, is delivered now)."""
        intake = MqttIntake(self._received, receive_maximum=self.cfg.receive_maximum)
        self._incoming, self._failure = [], None
        await intake.connect(target, self.cfg.client_id, keepalive=self.cfg.keepalive_s)
        forwarding: asyncio.Task[None] | None = None
        try:
            await intake.subscribe(
                [self.cfg.subscription(self.cfg.telemetry_filter), self.cfg.subscription(self.cfg.ack_filter)]
            )
            forwarding = asyncio.create_task(self._forwarding(intake), name="bridge-forwarding")
            self.metrics.mqtt_connected.set(1)
            backoff.reset()
            self.ready.set()
            log.info(
                "bridge_connected",
                mqtt=f"{target.host}:{target.port}",
                kafka=self.cfg.kafka_bootstrap,
                client_id=self.cfg.client_id,
                shared_group=self.cfg.shared_group,
                session_present=intake.session_present,
            )
            await asyncio.wait({forwarding, intake.closed}, return_when=asyncio.FIRST_COMPLETED)
            if forwarding.done():
                forwarding.result()  # raises the Kafka failure
            intake.closed.result()  # raises why the connection ended
            raise IntakeError("the broker closed the connection")
        finally:
            self.ready.clear()
            self.metrics.mqtt_connected.set(0)
            if forwarding is not None:
                forwarding.cancel()
                with contextlib.suppress(BaseException):
                    await forwarding
            # let in-flight deliveries finish so their MQTT acks go out before we disconnect
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self.bus.flush()), 10)
            await asyncio.sleep(0)  # the acks the deliveries released are written in this pass
            await intake.disconnect()
            if intake.closed.done() and not intake.closed.cancelled():
                intake.closed.exception()  # retrieved: asyncio does not warn about it

    async def _commands_session(self) -> None:
        """The connection desired state goes out on (aiomqtt; a clean session: nothing comes in on it)."""
        backoff = Backoff()
        while True:
            client = self.cfg.mqtt.client(identifier=f"{self.cfg.client_id}-commands", clean_session=True)
            try:
                async with client:
                    self._commands_client = client
                    self._commands_connected.set()
                    backoff.reset()
                    await asyncio.Future()  # until the connection fails (aiomqtt raises) or we are cancelled
            except aiomqtt.MqttError as exc:
                delay = backoff.next_delay()
                log.warning("bridge_commands_mqtt_disconnected", error=str(exc), retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)
            finally:
                self._commands_connected.clear()
                self._commands_client = None

    async def run(self) -> None:
        """Run until cancelled; on cancel, flush what is in flight, acknowledge it, and stop."""
        await self._start_kafka()
        if self.cfg.metrics_port:
            self.metrics.serve(self.cfg.metrics_port)
        backoff = Backoff()
        tasks = [
            asyncio.create_task(self._flusher(), name="bridge-flusher"),
            asyncio.create_task(self._stats_logger(), name="bridge-stats"),
        ]
        if self.cfg.commands:
            forwarder = CommandForwarder(
                self.bus,
                topic=self.cfg.topic_desired,
                dlq_topic=self.cfg.topic_dlq,
                group=self.cfg.command_group,
                metrics=self.metrics,
                client=lambda: self._commands_client,
                connected=self._commands_connected,
            )
            tasks.append(asyncio.create_task(self._commands_session(), name="bridge-commands-mqtt"))
            tasks.append(asyncio.create_task(forwarder.run(), name="bridge-commands"))
        try:
            while True:
                try:
                    await self._session(self.cfg.mqtt, backoff)
                except IntakeError as exc:
                    delay = backoff.next_delay()
                    log.warning("bridge_mqtt_disconnected", error=str(exc), retry_in_s=round(delay, 2))
                    await asyncio.sleep(delay)
                except Exception as exc:  # Kafka delivery failed: reconnect the producer, then MQTT
                    log.error("bridge_kafka_failed", error=f"{type(exc).__name__}: {exc}")
                    with contextlib.suppress(Exception):
                        await self.bus.stop()
                    await asyncio.sleep(backoff.next_delay())
                    await self._start_kafka()
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            with contextlib.suppress(Exception):
                await self.bus.flush()
            await self.bus.stop()
            self.metrics.close()
            log.info(
                "bridge_stopped",
                received=self.stats.received,
                forwarded=self.stats.forwarded,
                rejected=self.stats.rejected,
            )
