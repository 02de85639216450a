"""The bridge against real Mosquitto and Tansu."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError

from dtwin.contracts.commands import DesiredCommand
from dtwin.kit.bus import KafkaBus, Record
from dtwin_devkit.servers import Server, free_port
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.bridge.service import BridgeConfig
from dtwin_pipeline.mqtt import MqttTarget

from .conftest import running_bridge


def telemetry(machine: str, i: int = 0, ts: datetime | None = None) -> bytes:
    t = ts or datetime.now(UTC) - timedelta(seconds=600) + timedelta(milliseconds=i)
    return orjson.dumps(
        {"schema": 1, "machine_id": machine, "ts": t.isoformat(), "readings": {"seq": float(i)}}
    )


def target(servers: dict[str, Server]) -> MqttTarget:
    return MqttTarget.from_url(servers["mosquitto"].url)


async def publish_all(servers: dict[str, Server], items: list[tuple[str, bytes]]) -> None:
    async with target(servers).client(max_inflight=1000, max_queued_outgoing=100_000) as c:
        for i in range(0, len(items), 500):
            await asyncio.gather(*(c.publish(t, p, qos=1) for t, p in items[i : i + 500]))


def seqs(records: list[Any]) -> list[int]:
    return [int(orjson.loads(r.value)["readings"]["seq"]) for r in records]


async def test_forwards_valid_and_dead_letters_a_burst_of_bad_payloads(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    cfg = bridge_config
    async with running_bridge(cfg) as bridge:
        now = datetime.now(UTC)
        good = [(f"plant/{uid}/l1/m{k}/telemetry", telemetry(f"m{k}", k)) for k in range(5)]
        bad_kinds = {
            "not valid JSON": b"not json",
            "unsupported schema version 7": orjson.dumps({"schema": 7, "machine_id": "x"}),
            "too large": b"{" + b" " * 70_000 + b"}",
            "does not match": telemetry("other"),
            "ahead of our clock": telemetry("mf", ts=now + timedelta(hours=1)),
        }
        bad: list[tuple[str, bytes]] = []
        for n in range(40):  # a burst: 200 rejects
            for j, body in enumerate(bad_kinds.values()):
                machine = "mf" if j == 4 else f"bad{n}x{j}"
                bad.append((f"plant/{uid}/l1/{machine}/telemetry", body))
        await publish_all(servers, good[:3] + bad + good[3:])
        raw = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=5)
        assert sorted(r.key for r in raw) == [f"m{k}".encode() for k in range(5)]
        assert dict(raw[0].headers)["line"] == b"l1"
        dlq = [
            orjson.loads(r.value) for r in await read_topic(cfg.kafka_bootstrap, cfg.topic_dlq, at_least=200)
        ]
        assert len(dlq) == 200
        for reason in bad_kinds:
            assert sum(reason in d["reason"] for d in dlq) == 40, reason
        assert all(d["stage"] == "bridge" and d["payload"] for d in dlq)
        assert bridge.stats.rejected == 200 and bridge.stats.forwarded == 5
        assert bridge.ready.is_set()


async def test_desired_state_goes_out_to_the_device_and_its_ack_comes_back(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    cfg = bridge_config
    async with running_bridge(cfg) as bridge, target(servers).client() as device:
        await device.subscribe(f"plant/{uid}/line-9/pump-1/desired", qos=1)
        kafka = KafkaBus(cfg.kafka_bootstrap)
        await kafka.start()
        cmd = DesiredCommand(
            machine_id="pump-1",
            site=uid,
            line="line-9",
            version=4,
            desired={"mode": "standby"},
            ts=datetime.now(UTC),
        )
        await kafka.produce(cfg.topic_desired, cmd.model_dump_json(by_alias=True).encode(), key=b"pump-1")
        await kafka.produce(cfg.topic_desired, b'{"schema": 1, "machine_id": "pump-1"}', key=b"pump-1")
        await kafka.flush()
        await kafka.stop()
        message = await asyncio.wait_for(anext(aiter(device.messages)), 30)
        received = orjson.loads(message.payload)  # type: ignore[arg-type]
        assert received["desired"] == {"mode": "standby"} and received["version"] == 4
        assert "site" not in received
        ack = {
            "schema": 1,
            "machine_id": "pump-1",
            "version": 4,
            "status": "accepted",
            "applied": {"mode": "standby"},
            "ts": datetime.now(UTC).isoformat(),
        }
        await device.publish(f"plant/{uid}/line-9/pump-1/ack", orjson.dumps(ack), qos=1)
        acks = await read_topic(cfg.kafka_bootstrap, cfg.topic_acks, at_least=1)
        assert orjson.loads(acks[0].value)["status"] == "accepted" and acks[0].key == b"pump-1"
        dlq = await read_topic(cfg.kafka_bootstrap, cfg.topic_dlq, at_least=1)
        assert orjson.loads(dlq[0].value)["stage"] == "bridge-commands"
        assert bridge.metrics.commands._value.get() == 1


class FailingOnceBus(KafkaBus):
    """Kafka whose deliveries fail for the first `fail` telemetry messages (as if the broker timed out: an
    infrastructure failure, retried; a record Kafka refuses for what it is would be acknowledged instead)."""

    def __init__(self, bootstrap: str, fail: int) -> None:
        super().__init__(bootstrap)
        self.fail = fail

    async def produce_many(self, topic: str, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        futures = await super().produce_many(topic, records)
        if topic.startswith("raw.") and self.fail > 0:
            for i in range(min(self.fail, len(futures))):
                fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                fut.set_exception(KafkaTimeoutError("simulated delivery failure"))
                futures[i] = fut
            self.fail -= min(self.fail, len(futures))
        return futures


async def test_failed_kafka_delivery_is_not_acknowledged_and_gets_redelivered(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    cfg = bridge_config
    async with running_bridge(cfg, FailingOnceBus(cfg.kafka_bootstrap, fail=3)):
        await publish_all(servers, [(f"plant/{uid}/l/m1/telemetry", telemetry("m1", i)) for i in range(20)])
        raw = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=20, timeout=40)
        assert set(seqs(raw)) == set(range(20))  # at least once: the three failed ones came back


async def test_messages_published_while_the_bridge_is_down_arrive_after_restart(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    cfg = bridge_config
    cfg.commands = False  # telemetry only: no consumer-group rejoin to wait for
    async with running_bridge(cfg):  # registers the persistent session and its subscription
        pass
    await publish_all(servers, [(f"plant/{uid}/l/m2/telemetry", telemetry("m2", i)) for i in range(50)])
    async with running_bridge(cfg):
        raw = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=50, timeout=30)
    assert set(seqs(raw)) == set(range(50))


def metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


@pytest.mark.slow
async def test_two_bridge_processes_share_the_load_without_loss(
    servers: dict[str, Server], uid: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    env = {
        **os.environ,
        "DTWIN_MQTT_URL": servers["mosquitto"].url,
        "DTWIN_KAFKA_BOOTSTRAP": servers["kafka"].url,
        "DTWIN_TOPIC_TELEMETRY": f"raw.{uid}",
        "DTWIN_TOPIC_DLQ": f"dlq.{uid}",
        "DTWIN_TOPIC_DESIRED": f"desired.{uid}",
        "DTWIN_TOPIC_ACKS": f"acks.{uid}",
        "DTWIN_BRIDGE_SHARED_GROUP": f"g{uid}",
        "DTWIN_BRIDGE_CLIENT_ID": f"bridge-{uid}",
    }
    dtwin = str(Path(sys.executable).parent / "dtwin")
    procs = [
        subprocess.Popen(
            [dtwin, "bridge", "--instance", name, "--metrics-port", str(port)],
            env=env,
            stdout=(tmp_path / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for name, port in zip("ab", ports, strict=True)
    ]
    try:
        async with httpx.AsyncClient() as http:

            async def both_connected() -> bool:
                try:
                    texts = [(await http.get(f"http://127.0.0.1:{p}/metrics")).text for p in ports]
                except httpx.TransportError:
                    return False
                return all(metric(t, "dtwin_bridge_mqtt_connected") == 1 for t in texts)

            await eventually(both_connected, timeout=60, what="both bridges connected")
            n = 3000
            # the shared subscription (plant/+/+/+/telemetry) sees only this test's machines here
            await publish_all(
                servers,
                [(f"plant/{uid}/l/m{i % 30}/telemetry", telemetry(f"m{i % 30}", i)) for i in range(n)],
            )
            raw = await read_topic(servers["kafka"].url, f"raw.{uid}", at_least=n, timeout=60)
            assert set(seqs(raw)) == set(range(n))
            texts = [(await http.get(f"http://127.0.0.1:{p}/metrics")).text for p in ports]
        forwarded = [metric(t, "dtwin_bridge_messages_forwarded_total") for t in texts]
        assert all(f > 0 for f in forwarded), forwarded
        assert sum(forwarded) >= n
        assert len(raw) - n == sum(forwarded) - n  # any duplicate is an at-least-once redelivery we counted
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            assert p.wait(20) == 0, f"bridge exited with {p.returncode}; logs in {tmp_path}"


async def forward(cfg: BridgeConfig, commands: list[DesiredCommand]) -> None:
    """Put `commands` on twin.desired and wait until a running bridge published all of them to MQTT."""
    async with running_bridge(cfg) as bridge:
        kafka = KafkaBus(cfg.kafka_bootstrap)
        await kafka.start()
        for cmd in commands:
            key = cmd.machine_id.encode()
            await kafka.produce(cfg.topic_desired, cmd.model_dump_json(by_alias=True).encode(), key=key)
        await kafka.flush()
        await kafka.stop()

        async def forwarded() -> bool:
            return bool(bridge.metrics.commands._value.get() == len(commands))

        await eventually(forwarded, timeout=30, what="every command published to MQTT")


def command(
    uid: str, machine: str, version: int, desired: dict[str, str], cleared: bool = False
) -> DesiredCommand:
    return DesiredCommand(
        machine_id=machine,
        site=uid,
        line="line-3",
        version=version,
        desired=desired,
        ts=datetime.now(UTC),
        cleared=cleared,
    )


async def test_a_device_connecting_after_the_command_was_forwarded_gets_the_retained_desired_state(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    # the newer one is what the broker keeps
    await forward(
        bridge_config,
        [command(uid, "pump-7", 1, {"mode": "off"}), command(uid, "pump-7", 2, {"mode": "standby"})],
    )
    # the device (re)connects only now, with the bridge gone: the broker hands it the newest desired state
    async with target(servers).client(identifier=f"late-{uid}", clean_session=True) as device:
        await device.subscribe(f"plant/{uid}/line-3/pump-7/desired", qos=1)
        message = await asyncio.wait_for(anext(aiter(device.messages)), 10)
    assert message.retain
    received = orjson.loads(message.payload)
    assert (received["version"], received["desired"]) == (2, {"mode": "standby"})
    assert "site" not in received


async def test_a_deleted_twins_retained_desired_state_is_cleared(
    servers: dict[str, Server], bridge_config: BridgeConfig, uid: str
) -> None:
    # a desired document, then the twin's deletion
    await forward(
        bridge_config,
        [command(uid, "pump-8", 1, {"mode": "off"}), command(uid, "pump-8", 1, {}, cleared=True)],
    )
    # a device that comes back under the id gets nothing: the broker holds no retained document any more
    async with target(servers).client(identifier=f"late-{uid}", clean_session=True) as device:
        await device.subscribe(f"plant/{uid}/line-3/pump-8/desired", qos=1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(aiter(device.messages)), 2)
