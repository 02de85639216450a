"""Simulator runner: builds a fleet, ticks it at the configured rate and hands each tick's messages to a
sink (MQTT for real deployments, the in-process bus in embedded mode)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import orjson
import structlog

from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import mqtt_telemetry_topic
from dtwin.core.bus import TelemetryBus
from dtwin_pipeline.simulator.machines import MACHINE_TYPES, TypeFleet

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Machine:
    id: str
    type: str
    site: str
    line: str


@dataclass(frozen=True)
class Outgoing:
    machine: Machine
    payload: bytes


@dataclass
class SimulatorConfig:
    machines: int = 50
    rate_hz: float = 1.0
    seed: int = 42
    sites: int = 2
    lines_per_site: int = 3
    types: Sequence[str] = field(default_factory=lambda: list(MACHINE_TYPES))
    duration_s: float | None = None
    id_offset: int = 0


class Sink(Protocol):
    async def send(self, batch: Sequence[Outgoing]) -> None: ...


@dataclass
class SimStats:
    ticks: int = 0
    messages: int = 0
    readings: int = 0
    started: float = field(default_factory=time.monotonic)


class Fleet:
    """Deterministic (seeded) fleet: machine ids, placement and per-type physics state."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        unknown = [t for t in cfg.types if t not in MACHINE_TYPES]
        if unknown:
            raise ValueError(f"unknown machine types: {unknown}; known: {sorted(MACHINE_TYPES)}")
        self.rng = np.random.default_rng(cfg.seed)
        by_type: dict[str, list[Machine]] = {t: [] for t in cfg.types}
        for i in range(cfg.machines):
            tname = cfg.types[i % len(cfg.types)]
            n = cfg.id_offset + i + 1
            site = f"site-{(i % cfg.sites) + 1}"
            line = f"line-{((i // cfg.sites) % cfg.lines_per_site) + 1}"
            by_type[tname].append(Machine(f"{MACHINE_TYPES[tname].prefix}-{n:04d}", tname, site, line))
        self.groups = [
            (TypeFleet(MACHINE_TYPES[t], len(ms), self.rng), ms) for t, ms in by_type.items() if ms
        ]

    @property
    def machines(self) -> list[Machine]:
        return [m for _, ms in self.groups for m in ms]

    def tick(self, now: datetime, dt: float) -> list[Outgoing]:
        ts = iso_utc(now)
        t = now.timestamp()
        out: list[Outgoing] = []
        for fleet, machines in self.groups:
            _, values = fleet.step(t, dt)
            names = [s.name for s in fleet.type.sensors]
            columns = np.round(np.vstack(values), 3).T.tolist()  # one row per machine
            for m, row in zip(machines, columns, strict=True):
                payload = orjson.dumps(
                    {
                        "schema": 1,
                        "machine_id": m.id,
                        "machine_type": m.type,
                        "ts": ts,
                        "site": m.site,
                        "line": m.line,
                        "readings": dict(zip(names, row, strict=True)),
                        "quality": "good",
                    }
                )
                out.append(Outgoing(m, payload))
        return out


async def run_simulator(
    cfg: SimulatorConfig, sink: Sink, stats: SimStats | None = None, fleet: Fleet | None = None
) -> SimStats:
    """Tick the fleet at cfg.rate_hz until cfg.duration_s has passed (or forever)."""
    fleet = fleet or Fleet(cfg)
    stats = stats or SimStats()
    period = 1.0 / cfg.rate_hz
    loop = asyncio.get_running_loop()
    start = loop.time()
    next_tick = start
    log.info("simulator_started", machines=cfg.machines, rate_hz=cfg.rate_hz, types=len(fleet.groups))
    while cfg.duration_s is None or loop.time() - start < cfg.duration_s:
        batch = fleet.tick(datetime.now(UTC), period)
        await sink.send(batch)
        stats.ticks += 1
        stats.messages += len(batch)
        next_tick += period
        delay = next_tick - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            next_tick = loop.time()  # fell behind: do not burst to catch up
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


class MqttSink:
    """Publishes each message to plant/{site}/{line}/{machine_id}/telemetry with QoS 1. Publishes of one tick
    run concurrently (in windows), so the broker's acks are awaited in parallel, not one by one."""

    def __init__(self, client: object, qos: int = 1, window: int = 1000) -> None:
        self.client = client
        self.qos = qos
        self.window = window

    async def send(self, batch: Sequence[Outgoing]) -> None:
        publish = self.client.publish  # type: ignore[attr-defined]
        for i in range(0, len(batch), self.window):
            await asyncio.gather(
                *(
                    publish(
                        mqtt_telemetry_topic(o.machine.site, o.machine.line, o.machine.id),
                        o.payload,
                        qos=self.qos,
                    )
                    for o in batch[i : i + self.window]
                )
            )


async def run_mqtt_simulator(
    cfg: SimulatorConfig,
    url: str,
    username: str | None = None,
    password: str | None = None,
    stats: SimStats | None = None,
) -> SimStats:
    """The simulator against a real MQTT broker, reconnecting with backoff when the broker drops."""
    import aiomqtt

    from dtwin_pipeline.backoff import Backoff
    from dtwin_pipeline.mqtt import MqttTarget

    target = MqttTarget.from_url(url, username, password)
    stats = stats or SimStats()
    fleet = Fleet(cfg)
    backoff = Backoff()
    deadline = None if cfg.duration_s is None else time.monotonic() + cfg.duration_s
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return stats
        try:
            async with target.client(max_inflight=1000, max_queued_outgoing=100_000) as client:
                backoff.reset()
                run_cfg = SimulatorConfig(**{**cfg.__dict__, "duration_s": remaining})
                await run_simulator(run_cfg, MqttSink(client), stats, fleet)
                return stats
        except aiomqtt.MqttError as exc:
            delay = backoff.next_delay()
            log.warning("simulator_mqtt_disconnected", error=str(exc), retry_in_s=round(delay, 2))
            await asyncio.sleep(delay)
