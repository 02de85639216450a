"""The bridge against real Mosquitto and Tansu: valid telemetry reaches Kafka keyed by machine, malformed
payloads land in the DLQ with a reason, and the bridge keeps running."""

import asyncio

import orjson

from dtwin.devtools.servers import Server
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.runner import SimulatorConfig, run_mqtt_simulator


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
