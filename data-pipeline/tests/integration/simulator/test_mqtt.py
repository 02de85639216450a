"""The simulator against a real Mosquitto: every machine on its own topic, ground truth that matches what a
subscriber receives, desired -> ack -> reported, and worker processes that split the fleet."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import orjson

from dtwin.contracts.commands import DeviceAck, parse_ack
from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin_devkit.servers import Server
from dtwin_devkit.testing import eventually
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.faults import FaultSpec, read_ground_truth
from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet
from dtwin_pipeline.simulator.runner import run_mqtt_simulator
from dtwin_pipeline.simulator.workers import run_workers


class Collector:
    """Subscribes (QoS 1) and keeps every message in arrival order."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async for m in self.client.messages:
            self.messages.append((m.topic.value, orjson.loads(m.payload)))  # type: ignore[arg-type]

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def bodies(self, kind: str = "telemetry") -> list[dict[str, Any]]:
        return [b for t, b in self.messages if t.endswith("/" + kind)]


async def test_simulator_publishes_each_machine_on_its_topic(servers: dict[str, Server], uid: str) -> None:
    target = MqttTarget.from_url(servers["mosquitto"].url)
    async with target.client() as sub:
        await sub.subscribe(f"plant/{uid}/+/+/telemetry", qos=1)
        col = Collector(sub)
        col.start()
        cfg = SimulatorConfig(
            machines=6, rate_hz=5, duration_s=1.0, id_offset=9000, site_lines=[(uid, ["l1", "l2"])]
        )
        stats = await run_mqtt_simulator(cfg, servers["mosquitto"].url, commands=False)
        await eventually(lambda: _at_least(col, stats.messages), what="all telemetry")
        await col.stop()
    assert stats.messages == 6 * 5
    assert {b["machine_id"] for b in col.bodies()} == {f"{m.id}" for m in plan_fleet(cfg)}
    for topic, body in col.messages:
        assert topic == f"plant/{body['site']}/{body['line']}/{body['machine_id']}/telemetry"
        assert isinstance(parse_telemetry(orjson.dumps(body)), Telemetry)


async def test_ground_truth_matches_what_a_subscriber_receives(
    servers: dict[str, Server], uid: str, tmp_path: Path
) -> None:
    faults = [
        FaultSpec(kind="stuck", type="centrifugal_pump", sensor="flow_m3_h", start_s=1, end_s=3),
        FaultSpec(kind="missing", type="boiler", start_s=0.8, end_s=2.2),
        FaultSpec(kind="duplicate", type="chiller", start_s=2, end_s=3),
        FaultSpec(kind="bad_unit", type="induction_motor", sensor="temperature_c", start_s=0, end_s=10),
        FaultSpec(kind="dropout", type="conveyor", sensor="current_a", start_s=1.4, end_s=10),
    ]
    cfg = SimulatorConfig(
        fleet={"centrifugal_pump": 2, "boiler": 1, "chiller": 1, "induction_motor": 1, "conveyor": 1},
        rate_hz=5,
        duration_s=4,
        site_lines=[(uid, ["l1"])],
        faults=faults,
        start=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )
    gt_path = tmp_path / "gt.jsonl"
    target = MqttTarget.from_url(servers["mosquitto"].url)
    async with target.client() as sub:
        await sub.subscribe(f"plant/{uid}/+/+/telemetry", qos=1)
        col = Collector(sub)
        col.start()
        stats = await run_mqtt_simulator(cfg, servers["mosquitto"].url, ground_truth=gt_path, commands=False)
        await eventually(lambda: _at_least(col, stats.messages), what="all telemetry")
        await col.stop()
    events = {e["kind"]: e for e in read_ground_truth(gt_path)}
    assert set(events) == {"stuck", "missing", "duplicate", "bad_unit", "dropout"}
    msgs = col.bodies()

    def window(kind: str, m: dict[str, Any]) -> bool:
        e = events[kind]
        return m["machine_id"] == e["machine_id"] and str(e["start"]) <= m["ts"] < str(e["end"])

    stuck = [m["readings"]["flow_m3_h"] for m in msgs if window("stuck", m)]
    assert len(stuck) == 10 and len(set(stuck)) == 1
    assert events["stuck"]["start"] == "2026-11-23T10:00:01.000Z"
    boiler = [m for m in msgs if m["machine_id"] == events["missing"]["machine_id"]]
    assert len(boiler) == 20 - 7 and not [m for m in boiler if window("missing", m)]
    dup = Counter(m["ts"] for m in msgs if m["machine_id"] == events["duplicate"]["machine_id"])
    assert [ts for ts, c in dup.items() if c == 2] == [
        f"2026-11-23T10:00:02.{ms:03d}Z" for ms in (0, 200, 400, 600, 800)
    ]
    motor = [m["readings"]["temperature_c"] for m in msgs if window("bad_unit", m)]
    assert len(motor) == 20 and min(motor) > 32 + 1.8 * 30  # °F of a running motor
    for m in msgs:
        if m["machine_id"] == events["dropout"]["machine_id"]:
            assert ("current_a" in m["readings"]) == (not window("dropout", m))


async def test_desired_message_gets_an_ack_and_shows_in_reported(
    servers: dict[str, Server], uid: str
) -> None:
    cfg = SimulatorConfig(fleet={"centrifugal_pump": 2}, rate_hz=5, duration_s=20, site_lines=[(uid, ["l1"])])
    target = MqttTarget.from_url(servers["mosquitto"].url)
    async with target.client() as sub:
        await sub.subscribe(f"plant/{uid}/+/+/#", qos=1)
        col = Collector(sub)
        col.start()
        sim = asyncio.create_task(run_mqtt_simulator(cfg, servers["mosquitto"].url))
        try:
            await eventually(lambda: _at_least(col, 4), what="first telemetry")
            desired = {
                "schema": 1,
                "machine_id": "pump-0001",
                "version": 7,
                "desired": {"mode": "standby", "speed_setpoint_rpm": 2400, "foo": 1},
                "ts": "2026-11-23T10:00:00Z",
            }
            await sub.publish(f"plant/{uid}/l1/pump-0001/desired", orjson.dumps(desired), qos=1)

            async def acked() -> dict[str, Any] | None:
                acks = col.bodies("ack")
                return acks[0] if acks else None

            ack = await eventually(acked, what="ack")
            assert isinstance(parse_ack(orjson.dumps(ack)), DeviceAck)
            assert ack["status"] == "partial" and ack["version"] == 7
            assert ack["applied"] == {"mode": "standby", "speed_setpoint_rpm": 2400}
            assert ack["rejected"] == {"foo": "unknown setting 'foo' for centrifugal_pump"}
            n_before = len(col.messages)

            async def reported() -> bool:
                later = [b for t, b in col.messages[n_before:] if t.endswith("pump-0001/telemetry")]
                return len(later) >= 3 and all(
                    b["reported"] == {"mode": "standby", "speed_setpoint_rpm": 2400} for b in later
                )

            await eventually(reported, what="reported settings in telemetry")
            other = [b for b in col.bodies() if b["machine_id"] == "pump-0002"]
            assert other[-1]["reported"]["mode"] == "on"
            assert len(col.bodies("ack")) == 1
        finally:
            sim.cancel()
            await asyncio.gather(sim, return_exceptions=True)
            await col.stop()


async def test_two_workers_publish_the_whole_fleet_once(
    servers: dict[str, Server], uid: str, tmp_path: Path
) -> None:
    cfg = SimulatorConfig(machines=40, rate_hz=2, duration_s=2, site_lines=[(uid, ["l1", "l2"])], seed=4)
    target = MqttTarget.from_url(servers["mosquitto"].url)
    async with target.client() as sub:
        await sub.subscribe(f"plant/{uid}/+/+/telemetry", qos=1)
        col = Collector(sub)
        col.start()
        stats = await asyncio.to_thread(
            run_workers,
            cfg,
            servers["mosquitto"].url,
            None,
            None,
            2,
            commands=False,
            record=tmp_path / "rec.csv",
        )
        await eventually(lambda: _at_least(col, 40 * 4), what="all telemetry")
        await col.stop()
    assert stats.messages == 40 * 4 and stats.machines == 40
    msgs = col.bodies()
    keys = Counter((m["machine_id"], m["ts"]) for m in msgs)
    assert len(keys) == 160 and max(keys.values()) == 1
    assert {m["machine_id"] for m in msgs} == {m.id for m in plan_fleet(cfg)}
    rows = (tmp_path / "rec.csv").read_text().splitlines()
    assert rows[0] == "timestamp,machine_id,machine_type,site,line,sensor,value"
    assert len(rows) - 1 == sum(len(m["readings"]) for m in msgs)


async def _at_least(col: Collector, n: int) -> bool:
    return len(col.bodies()) >= n
