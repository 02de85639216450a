"""The bridge against real Mosquitto and Tansu: valid telemetry reaches Kafka keyed by machine, malformed
payloads land in the DLQ with a reason, and the bridge keeps running."""

import asyncio
from datetime import UTC, datetime

import orjson

from dtwin.devtools.servers import Server
from dtwin.devtools.testing import eventually, read_topic
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.runner import SimulatorConfig, run_mqtt_simulator


async def test_bridge_forwards_valid_and_dead_letters_invalid(servers: dict[str, Server], uid: str) -> None:
    cfg = BridgeConfig(
        mqtt_url=servers["mosquitto"].url,
        kafka_bootstrap=servers["kafka"].url,
        topic_telemetry=f"raw.{uid}",
        topic_dlq=f"dlq.{uid}",
        partitions=3,
        mqtt_filter=f"plant/{uid}/+/+/telemetry",
        flush_interval_s=0.1,
    )
    bridge = Bridge(cfg)
    task = asyncio.create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.ready.wait(), 20)
        target = MqttTarget.from_url(servers["mosquitto"].url)
        async with target.client() as c:
            now = datetime.now(UTC).isoformat()
            for k in range(5):
                await c.publish(
                    f"plant/{uid}/l1/m{k}/telemetry",
                    orjson.dumps(
                        {"schema": 1, "machine_id": f"m{k}", "ts": now, "readings": {"a": float(k)}}
                    ),
                    qos=1,
                )
            bad = {
                f"plant/{uid}/l1/m9/telemetry": b"not json",
                f"plant/{uid}/l1/m8/telemetry": orjson.dumps({"schema": 7, "machine_id": "m8"}),
                f"plant/{uid}/l1/m7/telemetry": b"{" + b" " * 70_000 + b"}",
                f"plant/{uid}/l1/m6/telemetry": orjson.dumps(
                    {"schema": 1, "machine_id": "other", "ts": now, "readings": {"a": 1.0}}
                ),
            }
            for topic, body in bad.items():
                await c.publish(topic, body, qos=1)
            # still alive after the rejects
            await c.publish(
                f"plant/{uid}/l1/m5/telemetry",
                orjson.dumps({"schema": 1, "machine_id": "m5", "ts": now, "readings": {"a": 5.0}}),
                qos=1,
            )
        raw = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=6)
        assert sorted(r.key for r in raw) == [f"m{k}".encode() for k in range(6)]  # type: ignore[attr-defined]
        assert dict(raw[0].headers)["line"] == b"l1"  # type: ignore[attr-defined]
        dlq = [
            orjson.loads(r.value) for r in await read_topic(cfg.kafka_bootstrap, cfg.topic_dlq, at_least=4)
        ]
        reasons = {d["machine_id"]: d["reason"] for d in dlq}
        assert "not valid JSON" in reasons["m9"]
        assert "unsupported schema version 7" in reasons["m8"]
        assert "too large" in reasons["m7"]
        assert "does not match" in reasons["m6"]
        assert all(d["stage"] == "bridge" and d["payload"] for d in dlq)
        assert not task.done()
        await eventually(lambda: _ge(bridge.stats.rejected, 4), what="rejected count")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_simulator_publishes_each_machine_on_its_topic(servers: dict[str, Server], uid: str) -> None:
    target = MqttTarget.from_url(servers["mosquitto"].url)
    received: dict[str, dict] = {}
    async with target.client() as sub:
        await sub.subscribe("plant/+/+/+/telemetry", qos=1)
        cfg = SimulatorConfig(machines=6, rate_hz=5, duration_s=1.0, id_offset=9000)
        stats = await run_mqtt_simulator(cfg, servers["mosquitto"].url)

        async def drain() -> None:
            async for m in sub.messages:
                body = orjson.loads(m.payload)  # type: ignore[arg-type]
                received[m.topic.value] = body
                if len(received) == 6:
                    return

        await asyncio.wait_for(drain(), 10)
    assert stats.messages >= 6 * 4
    for topic, body in received.items():
        assert topic == f"plant/{body['site']}/{body['line']}/{body['machine_id']}/telemetry"


async def _ge(value: int, n: int) -> bool:
    return value >= n
