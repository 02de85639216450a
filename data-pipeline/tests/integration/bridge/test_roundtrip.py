"""A desired setting round-trips through real servers: Kafka twin.desired -> bridge -> MQTT -> simulated
device (applies it) -> ack on MQTT -> bridge -> Kafka twin.acks, and the device's telemetry -> bridge ->
Kafka telemetry.raw carries the setting under `reported`."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import orjson

from dtwin.contracts.commands import DesiredCommand
from dtwin.kit.bus import KafkaBus
from dtwin_devkit.servers import Server
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.bridge.service import BridgeConfig
from dtwin_pipeline.simulator.runner import SimulatorConfig, run_mqtt_simulator

from .conftest import running_bridge


async def test_desired_setting_round_trips_to_the_device_and_back(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    cfg = bridge_config
    machine = "pump-8001"
    sim_cfg = SimulatorConfig(
        machines=1,
        types=["centrifugal_pump"],
        rate_hz=5,
        duration_s=60,
        site_lines=[(uid, ["l1"])],
        id_offset=8000,
    )
    async with running_bridge(cfg):
        sim = asyncio.create_task(
            run_mqtt_simulator(sim_cfg, servers["mosquitto"].url, client_id=f"sim-{uid}")
        )
        try:
            first = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=1, timeout=30)
            body = orjson.loads(first[0].value)
            assert body["machine_id"] == machine
            assert body["reported"]["speed_setpoint_rpm"] != 2600

            kafka = KafkaBus(cfg.kafka_bootstrap)
            await kafka.start()
            cmd = DesiredCommand(
                machine_id=machine,
                site=uid,
                line="l1",
                version=1,
                ts=datetime.now(UTC),
                desired={"speed_setpoint_rpm": 2600, "mode": "standby", "colour": "blue"},
            )
            await kafka.produce(
                cfg.topic_desired, cmd.model_dump_json(by_alias=True).encode(), key=machine.encode()
            )
            await kafka.flush()
            await kafka.stop()

            acks = await read_topic(cfg.kafka_bootstrap, cfg.topic_acks, at_least=1, timeout=30)
            ack = orjson.loads(acks[0].value)
            assert (ack["machine_id"], ack["version"], ack["status"]) == (machine, 1, "partial")
            assert ack["applied"] == {"speed_setpoint_rpm": 2600, "mode": "standby"}
            assert "colour" in ack["rejected"]

            async def reported() -> dict[str, Any]:
                records = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=1, timeout=10)
                for r in reversed(records):
                    rep = orjson.loads(r.value).get("reported", {})
                    if rep.get("speed_setpoint_rpm") == 2600 and rep.get("mode") == "standby":
                        return dict(rep)
                return {}

            await eventually(reported, timeout=30, what="telemetry reporting the desired setting")
        finally:
            sim.cancel()
            with contextlib.suppress(BaseException):
                await sim
