"""The MQTT 5 intake against the real Mosquitto: a device's `traceparent` user property carried through a
running bridge into the Kafka record (Tansu), and the persistent session redelivering exactly what the intake
left unacknowledged."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiomqtt
import orjson
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dtwin.kit.tracing import TRACEPARENT, setup_tracing
from dtwin_devkit.servers import Server
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.bridge.intake import Incoming, MqttIntake
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig
from dtwin_pipeline.mqtt import MqttTarget


def telemetry(machine: str) -> bytes:
    ts = datetime.now(UTC) - timedelta(seconds=5)
    return orjson.dumps({"schema": 1, "machine_id": machine, "ts": ts.isoformat(), "readings": {"v": 1.0}})


def user_properties(pairs: list[tuple[str, str]]) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = pairs
    return props


@asynccontextmanager
async def traced_bridge(cfg: BridgeConfig) -> AsyncIterator[tuple[Bridge, InMemorySpanExporter]]:
    """A running bridge whose tracing is on but never starts a trace itself (ratio 0): only a device's
    sampled `traceparent` can make it trace a message."""
    spans = InMemorySpanExporter()
    tracing = setup_tracing("dtwin-bridge", endpoint=None, ratio=0.0, exporter=spans)
    bridge = Bridge(cfg, tracing=tracing)
    task = asyncio.create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.ready.wait(), 30)
        yield bridge, spans
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        tracing.shutdown()


async def test_a_devices_traceparent_continues_through_the_bridge_into_kafka(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    cfg = replace(bridge_config, commands=False)
    target = MqttTarget.from_url(servers["mosquitto"].url)
    trace_id, device_span = secrets.token_hex(16), secrets.token_hex(8)
    sampled = f"00-{trace_id}-{device_span}-01"
    unsampled = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"  # the device did not sample it
    async with traced_bridge(cfg) as (_, spans):
        device = aiomqtt.Client(
            target.host,
            target.port,
            username=target.username,
            password=target.password,
            identifier=f"dev-{uid}",
            protocol=aiomqtt.ProtocolVersion.V5,
        )
        async with device:
            await device.publish(
                f"plant/{uid}/l1/traced/telemetry",
                telemetry("traced"),
                qos=1,
                properties=user_properties([("site", "s1"), (TRACEPARENT, sampled)]),
            )
            await device.publish(f"plant/{uid}/l1/plain/telemetry", telemetry("plain"), qos=1)
            await device.publish(
                f"plant/{uid}/l1/unsampled/telemetry",
                telemetry("unsampled"),
                qos=1,
                properties=user_properties([(TRACEPARENT, unsampled)]),
            )
        records = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=3, timeout=15)
        headers = {r.key: dict(r.headers) for r in records}  # type: ignore[attr-defined]
        assert sorted(headers) == [b"plain", b"traced", b"unsampled"]

        header = headers[b"traced"][TRACEPARENT].decode()
        version, got_trace, forward_span, flags = header.split("-")
        assert (version, got_trace, flags) == ("00", trace_id, "01")
        assert forward_span != device_span  # the bridge's own span, in the device's trace

        (forward,) = spans.get_finished_spans()  # nothing else traced: ratio 0
        assert forward.name == "bridge.forward"
        assert format(forward.context.trace_id, "032x") == trace_id
        assert format(forward.context.span_id, "016x") == forward_span
        assert forward.parent is not None and forward.parent.is_remote
        assert format(forward.parent.span_id, "016x") == device_span  # a child of the device's span
        assert forward.attributes is not None
        assert forward.attributes["mqtt.topic"] == f"plant/{uid}/l1/traced/telemetry"

        for untraced in (b"plain", b"unsampled"):
            assert TRACEPARENT not in headers[untraced], untraced
            assert headers[untraced]["line"] == b"l1"


async def test_the_session_redelivers_exactly_what_was_not_acknowledged(
    servers: dict[str, Server], uid: str
) -> None:
    target = MqttTarget.from_url(servers["mosquitto"].url)
    client_id, n = f"intake-{uid}", 10
    topics = [f"intake/{uid}/{k}" for k in range(n)]

    async def session(got: list[Incoming], *, clean_start: bool, expiry: int = 60) -> MqttIntake:
        intake = MqttIntake(got.extend, receive_maximum=50)
        await intake.connect(
            target, client_id, keepalive=0, clean_start=clean_start, session_expiry=expiry, within_s=5
        )
        return intake

    async def received(got: list[Incoming], count: int) -> bool:
        return len(got) >= count

    async def publish(which: list[str]) -> None:
        async with target.client(identifier=f"pub-{uid}") as publisher:
            for topic in which:
                await publisher.publish(topic, topic.encode(), qos=1)

    async def closing(intake: MqttIntake) -> None:
        """Disconnect: the PUBACKs `done` scheduled go out first, and disconnect() waits for the broker to
        close the connection, so the next connection under this client id finds them processed."""
        await intake.disconnect()
        await asyncio.wait_for(intake.closed, 5)  # resolves, without an error

    # 1: a new session; all N arrive, half of them are acknowledged
    first_got: list[Incoming] = []
    first = await session(first_got, clean_start=True)
    assert not first.session_present
    await first.subscribe([f"intake/{uid}/#"])
    await publish(topics)
    await eventually(lambda: received(first_got, n), timeout=5, what=f"{n} messages")
    assert sorted(m.topic for m in first_got) == sorted(topics)
    assert all(m.packet_id is not None for m in first_got)
    for m in first_got[: n // 2]:
        assert m.packet_id is not None
        first.done(m.packet_id)
    assert first.unacknowledged == n - n // 2
    await closing(first)
    unacknowledged = sorted(m.payload for m in first_got[n // 2 :])

    # 2: the same session; exactly the unacknowledged half comes again
    second_got: list[Incoming] = []
    second = await session(second_got, clean_start=False)
    assert second.session_present
    await eventually(lambda: received(second_got, n - n // 2), timeout=5, what="the redelivery")
    await asyncio.sleep(0.3)  # nothing more is coming
    assert sorted(m.payload for m in second_got) == unacknowledged
    for m in second_got:
        assert m.packet_id is not None
        second.done(m.packet_id)
    await closing(second)

    # 3: nothing is left; the subscription still is (a new message arrives); the session ends with it
    third_got: list[Incoming] = []
    third = await session(third_got, clean_start=False, expiry=0)
    assert third.session_present
    await asyncio.sleep(1.0)
    assert third_got == []
    await publish([f"intake/{uid}/after"])
    await eventually(lambda: received(third_got, 1), timeout=5, what="a new message")
    assert [m.payload for m in third_got] == [f"intake/{uid}/after".encode()]
    assert third_got[0].packet_id is not None
    third.done(third_got[0].packet_id)
    await closing(third)
