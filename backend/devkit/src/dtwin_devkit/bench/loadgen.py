"""`python -m dtwin_devkit.bench.loadgen`: the pipeline bench's load generator (issue #21, item 4: the
simulator must not be the bottleneck of its own benchmark).

The simulator's physics, computed before the run: `--ticks` ticks of the same fleet `dtwin simulate` would
run (`dtwin_pipeline.simulator.fleet.Fleet`: the same ids, types, placements and seeded readings), each
message encoded once as an MQTT PUBLISH. The run then publishes them at `--rate` Hz per machine, a tick
spread over its period in 10 ms slots, the ticks played forward and back (no jump in any series), over one
raw MQTT 3.1.1 connection: QoS 1, a window of unacknowledged messages, each PUBACK counted. Each message's
`ts` is rewritten as it is sent (the payloads hold it at a fixed width): the tick's due time, as a device
stamps it, or the moment of sending (`--stamp-at-send`: the pipeline's latency without the spreading).

What a message costs here is a few byte copies, not physics, JSON and a Python MQTT client: a fraction of
`dtwin simulate` per message (the pipeline bench measures both). Serves the simulator's metric families
(`dtwin_simulator_readings_published_total`, ...) on `--metrics-port`; prints `published N messages` at the
end like the simulator."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import mqtt_topic
from dtwin_pipeline.bridge.intake import DISCONNECT_PACKET, PINGREQ_PACKET, mqtt_string, varint
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig
from dtwin_pipeline.simulator.metrics import SimulatorMetrics
from dtwin_pipeline.simulator.sinks import SimStats

TS = b'"ts":"'
TS_WIDTH = len(iso_utc(datetime(2026, 1, 1, tzinfo=UTC)))  # YYYY-MM-DDTHH:MM:SS.mmmZ
SLOT_S = 0.010  # a tick's messages go out in slots of this length, spread over the period
WINDOW = 800  # unacknowledged QoS 1 messages at most (the test Mosquitto allows 1,000 in flight)


@dataclass(frozen=True)
class Prepared:
    """One message as three parts around the packet id and the ts: head (fixed header and topic),
    body (the payload up to its ts value), tail (the rest of the payload)."""

    head: bytes
    body: bytes
    tail: bytes
    readings: int


def prepare(topic: str, payload: bytes, readings: int) -> Prepared:
    at = payload.index(TS) + len(TS)
    remaining = 2 + len(topic.encode()) + 2 + len(payload)
    return Prepared(
        b"\x32" + varint(remaining) + mqtt_string(topic), payload[:at], payload[at + TS_WIDTH :], readings
    )


def pregenerate(cfg: SimulatorConfig, ticks: int) -> list[list[Prepared]]:
    """`ticks` ticks of the fleet, played forward then back (t0..tN-1, tN-2..t1): cycling them never jumps."""
    fleet = Fleet(cfg)
    now = datetime.now(UTC)
    dt = 1.0 / cfg.rate_hz
    out: list[list[Prepared]] = []
    for k in range(ticks):
        msgs = fleet.tick(now + timedelta(seconds=k * dt), dt)
        out.append(
            [
                prepare(
                    mqtt_topic(o.machine.site, o.machine.line, o.machine.id, "telemetry"),
                    o.payload,
                    o.readings,
                )
                for o in msgs
            ]
        )
    return out + out[-2:0:-1]


class Publisher(asyncio.Protocol):
    """A raw MQTT 3.1.1 client that publishes at QoS 1 and counts PUBACKs; a window bounds what is unacked."""

    def __init__(self) -> None:
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.unacked = 0
        self.room = asyncio.Event()
        self.room.set()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pid = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        i = 0
        while len(buf) - i >= 2:
            kind, length = buf[i] >> 4, buf[i + 1]  # every packet we receive is short (length < 128)
            if len(buf) - i < 2 + length:
                break
            if kind == 4:  # PUBACK
                self.unacked -= 1
            elif kind == 2:  # CONNACK
                rc = buf[i + 3]
                if rc != 0:
                    self.connected.set_exception(ConnectionError(f"MQTT CONNACK return code {rc}"))
                elif not self.connected.done():
                    self.connected.set_result(None)
            i += 2 + length
        self.buffer = buf[i:]
        if self.unacked < WINDOW:
            self.room.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if not self.connected.done():
            self.connected.set_exception(exc or ConnectionError("MQTT connection closed"))

    def connect(self, client_id: str, username: str | None, password: str | None, keepalive: int) -> None:
        flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)
        var = mqtt_string("MQTT") + bytes([4, flags]) + keepalive.to_bytes(2, "big")  # MQTT 3.1.1
        payload = mqtt_string(client_id)
        payload += (mqtt_string(username) if username else b"") + (mqtt_string(password) if password else b"")
        assert self.transport is not None
        self.transport.write(b"\x10" + varint(len(var) + len(payload)) + var + payload)

    def publish(self, batch: list[Prepared], ts: bytes) -> int:
        """Write `batch` (one write); returns the readings in it."""
        parts: list[bytes] = []
        readings = 0
        pid = self._pid
        for m in batch:
            pid = pid % 65535 + 1
            parts += (m.head, pid.to_bytes(2, "big"), m.body, ts, m.tail)
            readings += m.readings
        self._pid = pid
        self.unacked += len(batch)
        if self.unacked >= WINDOW:
            self.room.clear()
        assert self.transport is not None
        self.transport.write(b"".join(parts))
        return readings

    def ping(self) -> None:
        if self.transport is not None:
            self.transport.write(PINGREQ_PACKET)


async def run(args: argparse.Namespace, stats: SimStats) -> None:
    cfg = SimulatorConfig(machines=args.machines, rate_hz=args.rate, seed=args.seed, id_offset=args.id_offset)
    ticks = pregenerate(cfg, args.ticks)
    stats.machines = len(ticks[0])
    target = MqttTarget.from_url(args.url)
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(Publisher, target.host, target.port)
    proto.connect(f"dtwin-loadgen-{uuid.uuid4().hex[:10]}", target.username, target.password, 30)
    await asyncio.wait_for(proto.connected, 10)
    period = 1.0 / args.rate
    slots = max(1, round(period / SLOT_S))
    start = time.monotonic()
    started_at = datetime.now(UTC)
    last_ping = start
    k = 0
    while args.duration is None or k * period < args.duration:
        tick = ticks[k % len(ticks)]
        due = start + k * period
        device_ts = iso_utc(started_at + timedelta(seconds=k * period)).encode()
        for s in range(slots):
            lo, hi = len(tick) * s // slots, len(tick) * (s + 1) // slots
            wait = due + s * period / slots - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if proto.lost.done():
                raise ConnectionError("MQTT connection lost")
            await proto.room.wait()
            ts = iso_utc(datetime.now(UTC)).encode() if args.stamp_at_send else device_ts
            stats.readings += proto.publish(tick[lo:hi], ts)
            stats.messages += hi - lo
        stats.ticks += 1
        k += 1
        stats.lag_s = max(0.0, time.monotonic() - (start + k * period))
        if time.monotonic() - last_ping > 10:
            proto.ping()
            last_ping = time.monotonic()
    deadline = time.monotonic() + 10
    while proto.unacked > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stats.run_s = time.monotonic() - start
    assert proto.transport is not None
    proto.transport.write(DISCONNECT_PACKET)
    proto.transport.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per machine per second")
    parser.add_argument("--duration", type=float, help="seconds (default: until stopped)")
    parser.add_argument("--id-offset", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ticks", type=int, default=30, help="ticks of physics computed before the run")
    parser.add_argument("--stamp-at-send", action="store_true")
    parser.add_argument("--metrics-port", type=int)
    args = parser.parse_args(argv)
    metrics = SimulatorMetrics()
    if args.metrics_port:
        metrics.serve(args.metrics_port)
    try:
        asyncio.run(run(args, metrics.stats))
    finally:
        metrics.close()
    s = metrics.stats
    print(f"published {s.messages} messages ({s.readings} readings) in {s.ticks} ticks over {s.run_s:.2f} s")


if __name__ == "__main__":
    main()
