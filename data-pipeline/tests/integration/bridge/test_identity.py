"""Device identity on a real Mosquitto: the broker runs with the password and ACL files `dtwin devices`
writes, the bridge logs in as its service account, devices as themselves (Tansu behind the bridge)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest

from dtwin.contracts.commands import DesiredCommand
from dtwin.kit.bus import KafkaBus
from dtwin_devkit.servers import Server, ServerError, reload_mosquitto, start_mosquitto
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.bridge.service import BridgeConfig
from dtwin_pipeline.devices.credentials import CredentialStore
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet
from dtwin_pipeline.simulator.runner import run_mqtt_simulator

from .conftest import running_bridge

BRIDGE = "dtwin-bridge"
DEV_A, DEV_B, DEV_GONE = "cnc-A", "cnc-B", "cnc-revoked"
SIM = SimulatorConfig(machines=2, rate_hz=5.0, duration_s=0.6, id_offset=9000, types=["centrifugal_pump"])


@dataclass
class SecureBroker:
    server: Server
    store: CredentialStore
    passwords: dict[str, str]

    def target(self, username: str | None, password: str | None = None) -> MqttTarget:
        pw = password if password is not None else self.passwords.get(username or "")
        return MqttTarget.from_url(self.server.url, username, pw)


@pytest.fixture(scope="module")
def broker() -> Iterator[SecureBroker]:
    passwords: dict[str, str] = {}
    stores: list[CredentialStore] = []

    def provision(password_file: Path, acl_file: Path) -> None:
        store = CredentialStore(password_file, acl_file)
        passwords[BRIDGE] = store.provision(BRIDGE, service=True)
        for name in (DEV_A, DEV_B, DEV_GONE, *(m.id for m in plan_fleet(SIM))):
            passwords[name] = store.provision(name)
        stores.append(store)

    try:
        server = start_mosquitto(provision)
    except ServerError as exc:
        pytest.fail(f"could not start a secured Mosquitto: {exc}", pytrace=False)
    try:
        yield SecureBroker(server, stores[0], passwords)
    finally:
        server.stop()


@pytest.fixture
def cfg(broker: SecureBroker, bridge_config: BridgeConfig) -> BridgeConfig:
    """The usual per-test bridge (own Kafka topics), logged in as the service account, over every site
    (devices and the simulator publish under site-1), one partition so that Kafka keeps publish order."""
    return replace(
        bridge_config,
        mqtt=broker.target(BRIDGE),
        partitions=1,
        telemetry_filter="plant/+/+/+/telemetry",
        ack_filter="plant/+/+/+/ack",
    )


def telemetry(machine: str, seq: int) -> bytes:
    ts = datetime.now(UTC) - timedelta(seconds=60)
    return orjson.dumps({"schema": 1, "machine_id": machine, "ts": ts.isoformat(), "readings": {"seq": seq}})


def topic(machine: str, kind: str) -> str:
    return f"plant/site-1/line-1/{machine}/{kind}"


async def send_desired(cfg: BridgeConfig, machine: str, version: int) -> None:
    kafka = KafkaBus(cfg.kafka_bootstrap)
    await kafka.start()
    try:
        cmd = DesiredCommand(
            machine_id=machine,
            site="site-1",
            line="line-1",
            version=version,
            desired={"mode": "standby"},
            ts=datetime.now(UTC),
        )
        await kafka.produce(
            cfg.topic_desired, cmd.model_dump_json(by_alias=True).encode(), key=machine.encode()
        )
        await kafka.flush()
    finally:
        await kafka.stop()


def record_value(r: Any) -> bytes:
    return bytes(r.value)


def record(r: Any) -> tuple[bytes, int]:
    return r.key, int(orjson.loads(r.value)["readings"]["seq"])


async def test_a_device_publishes_only_under_its_own_id(broker: SecureBroker, cfg: BridgeConfig) -> None:
    async with running_bridge(cfg), broker.target(DEV_A).client() as a:
        # refused by the broker's ACL (QoS 1 is acknowledged, the message dropped): B's topic, any payload
        await a.publish(topic(DEV_B, "telemetry"), telemetry(DEV_B, 1), qos=1)
        await a.publish(topic(DEV_B, "telemetry"), telemetry(DEV_A, 2), qos=1)
        await a.publish(topic(DEV_B, "ack"), b"{}", qos=1)
        # passes the broker (own topic), refused by the bridge: the payload speaks for B
        await a.publish(topic(DEV_A, "telemetry"), telemetry(DEV_B, 3), qos=1)
        # A's own telemetry flows; published last, so on one partition whatever got through precedes it
        await a.publish(topic(DEV_A, "telemetry"), telemetry(DEV_A, 4), qos=1)
        raw = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=1)
        assert [record(r) for r in raw] == [(DEV_A.encode(), 4)]
        dlq = [
            orjson.loads(record_value(r))
            for r in await read_topic(cfg.kafka_bootstrap, cfg.topic_dlq, at_least=1)
        ]
        assert [(d["code"], d["machine_id"], d["source"]) for d in dlq] == [
            ("identity", DEV_A, f"mqtt:{topic(DEV_A, 'telemetry')}")
        ]


async def test_a_device_cannot_receive_another_devices_commands(
    broker: SecureBroker, cfg: BridgeConfig
) -> None:
    async with (
        running_bridge(cfg),
        broker.target(DEV_A).client() as a,
        broker.target(DEV_B).client() as b,
    ):
        # Mosquitto 2.0's acl_file grants any subscription and checks read access per message delivered:
        # A may subscribe to B's topic (and to everything), it is never sent what it may not read
        await a.subscribe(topic(DEV_B, "desired"), qos=1)
        await a.subscribe("plant/#", qos=1)
        await a.subscribe(topic(DEV_A, "desired"), qos=1)
        await b.subscribe(topic(DEV_B, "desired"), qos=1)

        await send_desired(cfg, DEV_B, 1)
        got_b = await asyncio.wait_for(anext(aiter(b.messages)), 30)
        assert orjson.loads(got_b.payload)["machine_id"] == DEV_B
        # the bridge published B's command before A's: had A been allowed to see it, it would come first
        await send_desired(cfg, DEV_A, 1)
        got_a = await asyncio.wait_for(anext(aiter(a.messages)), 30)
        assert got_a.topic.value == topic(DEV_A, "desired")
        assert orjson.loads(got_a.payload)["machine_id"] == DEV_A


@pytest.mark.parametrize(
    ("username", "password"), [(DEV_A, "wrong-password"), ("cnc-unknown", "x"), (None, None)]
)
async def test_a_wrong_or_missing_login_is_refused(
    broker: SecureBroker, username: str | None, password: str | None
) -> None:
    target = MqttTarget.from_url(broker.server.url, username, password)
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori"):
        async with target.client():
            pass


async def test_revoked_credentials_are_refused_after_a_reload(broker: SecureBroker) -> None:
    async with broker.target(DEV_GONE).client():
        pass  # accepted while provisioned
    assert broker.store.revoke(DEV_GONE)
    reload_mosquitto(broker.server)

    async def refused() -> bool:
        try:
            async with broker.target(DEV_GONE).client():
                return False
        except aiomqtt.MqttError as exc:
            return "authori" in str(exc).lower()

    await eventually(refused, what="revoked device refused")


async def test_the_simulator_connects_each_machine_with_its_own_credentials(
    broker: SecureBroker, cfg: BridgeConfig
) -> None:
    machines = [m.id for m in plan_fleet(SIM)]
    creds = {m: broker.passwords[m] for m in machines}
    async with running_bridge(cfg):
        stats = await run_mqtt_simulator(SIM, broker.server.url, device_credentials=creds)
        assert stats.messages >= len(machines)
        raw = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=stats.messages)
        assert len(raw) == stats.messages
        assert sorted({bytes(r.key).decode() for r in raw}) == sorted(machines)  # type: ignore[attr-defined]
