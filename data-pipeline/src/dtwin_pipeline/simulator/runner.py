"""Simulator runner: ticks a fleet on a simulated clock at the configured rate, spreads each tick's messages
over the period, applies commands between ticks, and hands messages to a sink (MQTT in real deployments,
the in-process bus in embedded mode)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from dtwin.contracts.commands import parse_desired
from dtwin.contracts.telemetry import Rejection, iso_utc
from dtwin.contracts.topics import MQTT_DESIRED_FILTER, mqtt_topic, parse_mqtt_topic
from dtwin.kit.bus import TelemetryBus
from dtwin_pipeline.simulator.commands import make_ack
from dtwin_pipeline.simulator.faults import GroundTruthLog
from dtwin_pipeline.simulator.fleet import Fleet, Machine, Outgoing, SimulatorConfig
from dtwin_pipeline.simulator.machines import MACHINE_TYPES
from dtwin_pipeline.simulator.replay import CsvRecorder, RecordingSink
from dtwin_pipeline.simulator.sinks import SimStats, Sink, Stamping, publish

__all__ = [
    "MACHINE_TYPES",
    "BusSink",
    "CommandChannel",
    "Fleet",
    "Machine",
    "Outgoing",
    "SimulatorConfig",
    "handle_desired",
    "run_mqtt_simulator",
    "run_simulator",
]

log = structlog.get_logger(__name__)
SLICES_PER_TICK = 20  # a tick's messages go out in up to this many chunks spread over the period
MIN_CHUNK = 200
THREAD_TICK_MACHINES = 200  # fleets from this size compute ticks in a worker thread


class CommandChannel(Protocol):
    """Where desired-state messages come from and acks go to."""

    async def drain(self) -> list[tuple[str, bytes]]: ...  # (topic, payload) received since the last call

    async def ack(self, machine: Machine, payload: bytes) -> None: ...


def handle_desired(
    fleet: Fleet, topic: str, payload: bytes, now: datetime | None = None
) -> dict[str, Any] | None:
    """Apply a message from plant/{site}/{line}/{machine_id}/desired; None if the machine is not ours. A
    retained message arriving on (re)subscribe is handled exactly like a live one; an empty payload is the
    broker clearing a retained document, not a command, and gets no answer."""
    parts = parse_mqtt_topic(topic)
    if parts is None or parts[3] != "desired" or not fleet.owns(parts[2]) or not payload:
        return None
    machine_id = parts[2]
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and body.get("machine_id") not in (None, machine_id):
        ts = iso_utc(now or datetime.now(UTC))
        raw_version = body.get("version")
        version = raw_version if isinstance(raw_version, int) else 0
        reason = f"machine_id {body.get('machine_id')!r} does not match the topic's {machine_id!r}"
        return make_ack(machine_id, version, {}, {"machine_id": reason}, ts)
    ack = fleet.apply_desired(body if isinstance(body, dict) else payload, now)
    if not ack["machine_id"]:
        ack["machine_id"] = machine_id
    return ack


async def _apply_commands(fleet: Fleet, commands: CommandChannel, stats: SimStats) -> None:
    for topic, payload in await commands.drain():
        ack = handle_desired(fleet, topic, payload)
        if ack is None:
            continue
        stats.commands += 1
        machine = fleet.machine(str(ack["machine_id"]))
        await commands.ack(machine, orjson.dumps(ack))
        stats.acks += 1
        log.info(
            "simulator_desired_applied", machine_id=machine.id, version=ack["version"], status=ack["status"]
        )


async def _send_spread(
    sink: Sink, batch: list[Outgoing], due: float, period: float, spread: bool, stats: SimStats
) -> None:
    loop = asyncio.get_running_loop()
    slices = max(1, min(SLICES_PER_TICK, len(batch) // MIN_CHUNK)) if spread else 1
    size = math.ceil(len(batch) / slices) if batch else 0
    for i in range(slices):
        chunk = batch[i * size : (i + 1) * size]
        if chunk:
            await publish(sink, chunk, stats)
        if i + 1 < slices:
            delay = due + (i + 1) * period * 0.9 / slices - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)


async def run_simulator(
    cfg: SimulatorConfig,
    sink: Sink,
    stats: SimStats | None = None,
    fleet: Fleet | None = None,
    *,
    commands: CommandChannel | None = None,
) -> SimStats:
    """Tick the fleet at cfg.rate_hz for cfg.duration_s (round(duration x rate) ticks) or forever.

    Timestamps follow a simulated clock (start + k / rate); if the sink cannot keep up the clock falls
    behind the wall clock (`stats.lag_s`) instead of skipping ticks, so the data stay deterministic."""
    fleet = fleet or Fleet(cfg)
    stats = stats or SimStats()
    stats.machines = len(fleet.machines)
    period = 1.0 / cfg.rate_hz
    loop = asyncio.get_running_loop()
    clock0 = cfg.start or datetime.now(UTC)
    total = None if cfg.duration_s is None else max(1, math.ceil(cfg.duration_s * cfg.rate_hz - 1e-9))
    threaded = stats.machines >= THREAD_TICK_MACHINES
    log.info("simulator_started", machines=stats.machines, rate_hz=cfg.rate_hz, types=len(fleet.groups))
    start = loop.time()
    stats.first_tick = time.monotonic()
    k = 0
    while total is None or k < total:
        due = start + k * period
        if commands is not None:
            await _apply_commands(fleet, commands, stats)
        now = clock0 + timedelta(seconds=k * period)
        batch = await asyncio.to_thread(fleet.tick, now, period) if threaded else fleet.tick(now, period)
        stats.ticks += 1
        stats.faults = len(fleet.faults.events)
        stats.active_faults = len(fleet.faults.active)
        await _send_spread(sink, batch, due, period, cfg.spread, stats)
        k += 1
        delay = start + k * period - loop.time()
        stats.lag_s = max(0.0, -delay)
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < 0:
            stats.late_ticks += 1
            stats.late_s -= delay
    rest = fleet.flush()
    if rest:
        await publish(sink, rest, stats)
    stats.run_s = time.monotonic() - stats.first_tick
    return stats


class BusSink:
    """Embedded mode: publish straight into the in-process telemetry bus."""

    def __init__(self, bus: TelemetryBus, topic: str) -> None:
        self.bus = bus
        self.topic = topic

    async def send(self, batch: Sequence[Outgoing]) -> None:
        for o in batch:
            await self.bus.produce(
                self.topic,
                o.payload,
                key=o.machine.id.encode(),
                headers={"site": o.machine.site, "line": o.machine.line},
            )


class BusCommands:
    """Embedded mode: desired state straight from the in-process bus (`twin.desired`), acks back onto it
    (`twin.acks`), exactly what the bridge would carry over MQTT."""

    DRAIN_MAX = 10_000

    def __init__(self, bus: TelemetryBus, desired_topic: str, acks_topic: str) -> None:
        if not bus.in_process:
            raise TypeError("BusCommands needs the in-process bus; with Kafka the bridge delivers commands")
        self.bus = bus
        self.acks_topic = acks_topic
        # the topic's consumer from now on, before anything is produced (in-process: nothing to start)
        self._desired = bus.consumer([desired_topic], "embedded-simulator")

    async def drain(self) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        while batch := await self._desired.getmany(timeout_ms=0, max_records=self.DRAIN_MAX):
            for m in batch:
                cmd = parse_desired(m.value)
                if not isinstance(cmd, Rejection):
                    topic = mqtt_topic(cmd.site, cmd.line, cmd.machine_id, "desired")
                    out.append((topic, cmd.device_payload()))
        return out

    async def ack(self, machine: Machine, payload: bytes) -> None:
        await self.bus.produce(self.acks_topic, payload, key=machine.id.encode())


class MqttCommands:
    """Desired messages from the simulator's MQTT subscription; acks back on .../ack."""

    def __init__(self, mqtt: Any) -> None:
        self.mqtt = mqtt

    async def drain(self) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        q: asyncio.Queue[tuple[str, bytes]] = self.mqtt.incoming
        while not q.empty():
            out.append(q.get_nowait())
        return out

    async def ack(self, machine: Machine, payload: bytes) -> None:
        await self.mqtt.publish(machine.topic("ack"), payload)


def _ours(fleet: Fleet, topic: str) -> bool:
    """A desired topic of one of this process's machines (the others' retained documents are not ours)."""
    parts = parse_mqtt_topic(topic)
    return parts is not None and fleet.owns(parts[2])


async def run_mqtt_simulator(
    cfg: SimulatorConfig,
    url: str,
    username: str | None = None,
    password: str | None = None,
    stats: SimStats | None = None,
    *,
    ground_truth: str | Path | None = None,
    record: str | Path | None = None,
    commands: bool = True,
    client_id: str | None = None,
    device_credentials: Mapping[str, str] | None = None,
) -> SimStats:
    """The simulator against a real MQTT broker (QoS 1). Subscribes to plant/+/+/+/desired (applying what
    is meant for its own machines) unless `commands` is False. Every start is a reboot of its devices: they
    begin at their defaults, and the retained desired state the broker hands over on subscribe is applied
    and acknowledged like a live command (so is the one re-delivered after a reconnect; the same version
    again is answered with the earlier ack, `Fleet.apply_desired`). Waits for every PUBACK before returning.
    With `device_credentials` ({machine id: password}) each machine connects on its own, as itself, and
    subscribes to its own desired topic only (`username`/`password` are then unused)."""
    from dtwin_pipeline.simulator.publisher import (  # paho only where MQTT is spoken
        DeviceConnections,
        MqttSink,
        PahoMqtt,
    )

    stats = stats or SimStats()
    gt = GroundTruthLog(ground_truth) if ground_truth else None
    fleet = Fleet(cfg, on_fault_event=gt.write if gt else None)
    mqtt: PahoMqtt | DeviceConnections
    if device_credentials is not None:
        own = [(m.id, m.topic("desired")) for m in fleet.machines]
        mqtt = DeviceConnections(url, device_credentials, own, commands=commands)
    else:
        mqtt = PahoMqtt(
            url,
            username,
            password,
            client_id=client_id,
            subscribe=MQTT_DESIRED_FILTER if commands else None,
            accept=partial(_ours, fleet),
        )
    recorder = CsvRecorder(record) if record else None
    sink: Sink = MqttSink(mqtt, stats)
    if cfg.stamp_at_send:
        sink = Stamping(sink)
    if recorder is not None:
        sink = RecordingSink(sink, recorder)
    try:
        await mqtt.connect()
        await run_simulator(cfg, sink, stats, fleet, commands=MqttCommands(mqtt) if commands else None)
        if commands:  # answer what arrived during the last tick too
            await _apply_commands(fleet, MqttCommands(mqtt), stats)
    finally:
        await mqtt.close()
        if stats.first_tick:
            stats.run_s = time.monotonic() - stats.first_tick
        if gt is not None:
            gt.close()
        if recorder is not None:
            recorder.close()
    return stats
