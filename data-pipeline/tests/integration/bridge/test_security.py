"""The shipped Mosquitto ACL example and TLS options, on a real broker: anonymous clients are refused, a
device may publish only under its own machine id, and the bridge forwards over TLS with username/password."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import orjson
import pytest

from dtwin_devkit.servers import Server, free_port, wait_port
from dtwin_devkit.testing import read_topic
from dtwin_pipeline.bridge.service import BridgeConfig
from dtwin_pipeline.mqtt import MqttTarget

from .conftest import running_bridge

ACL_EXAMPLE = Path(__file__).resolve().parents[4] / "infrastructure" / "mosquitto" / "acl.example"
USERS = {"dtwin-bridge": "bridge-secret", "pump-0001": "pump1-secret", "pump-0002": "pump2-secret"}


def _run(*cmd: str, cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[dict[str, object]]:
    """Mosquitto with the example ACL, a password file, a plain listener and a TLS listener (test CA)."""
    for tool in ("openssl", "mosquitto_passwd", "mosquitto"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: apt-get install -y openssl mosquitto (make test does)")
    work = Path(tempfile.mkdtemp(prefix="dtwin-mqtt-tls-", dir="/tmp"))
    os.chmod(work, 0o755)  # mosquitto drops to its own user and must read these files
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=dtwin-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=work,
    )
    _run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=work,
    )
    (work / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
        cwd=work,
    )
    first = True
    for user, password in USERS.items():
        args = ["mosquitto_passwd", "-b", *(["-c"] if first else []), "passwd", user, password]
        _run(*args, cwd=work)
        first = False
    shutil.copy(ACL_EXAMPLE, work / "acl")
    for f in work.iterdir():
        os.chmod(f, 0o644)
    plain, tls = free_port(), free_port()
    (work / "mosquitto.conf").write_text(
        f"per_listener_settings false\nallow_anonymous false\npassword_file {work}/passwd\n"
        f"acl_file {work}/acl\npersistence false\n"
        f"listener {plain} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\ncafile {work}/ca.crt\ncertfile {work}/server.crt\n"
        f"keyfile {work}/server.key\ntls_version tlsv1.2\n"
    )
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(work / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(plain, 15, proc, "mosquitto (secure)")
        wait_port(tls, 15, proc, "mosquitto (secure, TLS)")
        yield {"plain": plain, "tls": tls, "ca": work / "ca.crt"}
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def device(broker: dict[str, object], user: str) -> aiomqtt.Client:
    return MqttTarget.from_url(f"mqtt://127.0.0.1:{broker['plain']}", user, USERS[user]).client()


async def test_anonymous_and_wrong_password_are_refused(secure_broker: dict[str, object]) -> None:
    for username, password in ((None, None), ("pump-0001", "wrong")):
        with pytest.raises(aiomqtt.MqttError):
            async with MqttTarget.from_url(
                f"mqtt://127.0.0.1:{secure_broker['plain']}", username, password
            ).client():
                pass


async def test_bridge_over_tls_forwards_only_what_a_device_may_publish(
    secure_broker: dict[str, object], servers: dict[str, Server], uid: str
) -> None:
    cfg = BridgeConfig(
        mqtt=MqttTarget.from_url(
            f"mqtts://127.0.0.1:{secure_broker['tls']}",
            "dtwin-bridge",
            USERS["dtwin-bridge"],
            ca_file=secure_broker["ca"],
        ),  # type: ignore[arg-type]
        kafka_bootstrap=servers["kafka"].url,
        topic_telemetry=f"sraw.{uid}",
        topic_dlq=f"sdlq.{uid}",
        topic_desired=f"sdes.{uid}",
        topic_acks=f"sacks.{uid}",
        partitions=1,
        client_id=f"sec-{uid}",
        command_group=f"scmd-{uid}",
        commands=False,
    )
    now = datetime.now(UTC).isoformat()

    def body(machine: str, seq: float) -> bytes:
        return orjson.dumps({"schema": 1, "machine_id": machine, "ts": now, "readings": {"seq": seq}})

    async with running_bridge(cfg), device(secure_broker, "pump-0001") as pump1:
        # pump-0001 tries to speak for pump-0002 (denied by the ACL pattern), then for itself
        await pump1.publish(f"plant/{uid}/l/pump-0002/telemetry", body("pump-0002", 1.0), qos=1)
        await pump1.publish(f"plant/{uid}/l/pump-0001/telemetry", body("pump-0001", 2.0), qos=1)
        async with device(secure_broker, "pump-0002") as pump2:
            await pump2.publish(f"plant/{uid}/l/pump-0002/telemetry", body("pump-0002", 3.0), qos=1)
        records = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=2, timeout=20)
        await asyncio.sleep(1.0)  # anything else the broker let through would have arrived by now
        records = await read_topic(cfg.kafka_bootstrap, cfg.topic_telemetry, at_least=2, timeout=5)
    got = sorted((r.key, orjson.loads(r.value)["readings"]["seq"]) for r in records)
    assert got == [(b"pump-0001", 2.0), (b"pump-0002", 3.0)]
