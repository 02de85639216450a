"""The compose stack's device identity, without Docker: mqtt-provision's script and the bridge's and the
simulator's commands are read from docker-compose.yml and run as they are (paths moved from /mqtt to a
temporary directory), against a real Mosquitto started with infrastructure/mosquitto/mosquitto.conf (its
listener and persistence adapted) and Tansu behind the bridge. What device identity enforces (a device only
under its own id, revocation) is test_identity.py's; this proves the compose wiring provides it."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml

from dtwin_devkit.servers import Server, free_port, stop_processes, wait_port
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.devices.credentials import CredentialStore, read_credentials
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet

REPO = Path(__file__).resolve().parents[4]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
MOUNT = "/mqtt"  # where the compose services mount the mqtt-auth volume
BIN = Path(sys.executable).parent  # `dtwin` of this venv, found on PATH as in the image
SIMULATED = 50


def compose_value(text: str) -> str:
    """A string of the compose file as the container gets it: `$$` is a literal `$`. A lone `$` would be
    replaced from the host's environment by compose, so it fails the test here."""
    lone = re.findall(r"\$[^$]?", text.replace("$$", ""))
    assert not lone, f"compose would interpolate {lone} in {text!r}: write $$ for a shell $"
    return text.replace("$$", "$")


@dataclass
class Stack:
    auth: Path  # the mqtt-auth volume
    owners: dict[str, str]  # MOSQUITTO_OWNER / DTWIN_OWNER as given to the script
    broker: Server

    def local(self, text: str) -> str:
        return compose_value(text).replace(MOUNT, str(self.auth))

    def command(self, service: str, key: str = "command") -> list[str]:
        return [self.local(arg) for arg in SERVICES[service][key]]

    def env(self, service: str, **overrides: str) -> dict[str, str]:
        env = {k: self.local(str(v)) for k, v in (SERVICES[service].get("environment") or {}).items()}
        base = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(self.auth)}
        return {**base, **env, **overrides}

    def provision(self, *args: str) -> subprocess.CompletedProcess[str]:
        """mqtt-provision as `docker compose up` (no args) or `docker compose run --rm mqtt-provision ARGS`."""
        env = self.env("mqtt-provision", **self.owners)
        cmd = [*self.command("mqtt-provision", "entrypoint"), *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)

    def target(self, username: str | None, password: str | None) -> MqttTarget:
        return MqttTarget.from_url(self.broker.url, username, password)


def _owners() -> dict[str, str]:
    """The users the files go to. As root, Mosquitto drops to its own user before it reads them (as in the
    eclipse-mosquitto image, where it is 1883): the script must hand passwd/acl to that user."""
    me = f"{os.getuid()}:{os.getgid()}"
    if os.geteuid() != 0:
        return {"MOSQUITTO_OWNER": me, "DTWIN_OWNER": me}
    try:
        mosquitto = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.fail("no `mosquitto` user: apt-get install -y mosquitto", pytrace=False)
    return {"MOSQUITTO_OWNER": f"{mosquitto.pw_uid}:{mosquitto.pw_gid}", "DTWIN_OWNER": me}


def _mosquitto_conf(auth: Path, port: int) -> str:
    """The compose broker's config with a free local port, no persistence and the volume's real path."""
    text = (REPO / "infrastructure" / "mosquitto" / "mosquitto.conf").read_text()
    for old, new in (
        ("listener 1883 0.0.0.0\n", f"listener {port} 127.0.0.1\n"),
        ("persistence true\n", "persistence false\n"),
        (f"password_file {MOUNT}/passwd\n", f"password_file {auth}/passwd\n"),
        (f"acl_file {MOUNT}/acl\n", f"acl_file {auth}/acl\n"),
    ):
        assert text.count(old) == 1, f"mosquitto.conf changed: expected one {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # like a fresh named volume: a root-owned 0755 directory (/tmp, so Mosquitto's user can reach it)
    auth = Path(tempfile.mkdtemp(prefix="dtwin-mqtt-auth-", dir="/tmp"))
    os.chmod(auth, 0o755)
    conf_dir = Path(tempfile.mkdtemp(prefix="dtwin-mqtt-conf-", dir="/tmp"))
    os.chmod(conf_dir, 0o755)
    proc: subprocess.Popen[bytes] | None = None
    try:
        stack = Stack(auth, _owners(), Server("mosquitto", "", 0))
        done = stack.provision()
        assert done.returncode == 0, done.stdout + done.stderr
        port = free_port()
        conf = conf_dir / "mosquitto.conf"
        conf.write_text(_mosquitto_conf(auth, port))
        with (conf_dir / "mosquitto.log").open("wb") as log:
            proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_port(port, 15, proc, "mosquitto")
        stack.broker = Server("mosquitto", f"mqtt://127.0.0.1:{port}", port, proc=proc, workdir=conf_dir)
        yield stack
    finally:
        if proc is not None:
            stop_processes([proc])
        shutil.rmtree(auth, ignore_errors=True)
        shutil.rmtree(conf_dir, ignore_errors=True)


def _fleet() -> list[str]:
    return [m.id for m in plan_fleet(SimulatorConfig(machines=SIMULATED))]


def _owner(path: Path) -> str:
    st = path.stat()
    return f"{st.st_uid}:{st.st_gid}"


def test_compose_wires_every_mqtt_client_to_the_provisioned_volume() -> None:
    assert SERVICES["mqtt-provision"]["restart"] == "no"
    assert "mqtt-auth:/mqtt" in SERVICES["mqtt-provision"]["volumes"]
    for name in ("mosquitto", "bridge", "simulator"):
        service = SERVICES[name]
        assert "mqtt-auth:/mqtt:ro" in service["volumes"], name
        assert service["depends_on"]["mqtt-provision"] == {"condition": "service_completed_successfully"}
    simulate = SERVICES["simulator"]["command"]
    assert simulate[simulate.index("--machines") + 1] == str(SIMULATED)
    assert simulate[simulate.index("--device-credentials") + 1] == "/mqtt/devices.json"
    assert f"--simulated {SIMULATED} " in SERVICES["mqtt-provision"]["entrypoint"][2]
    assert SERVICES["bridge"]["environment"]["DTWIN_MQTT_USERNAME"] == "dtwin-bridge"


def test_provisioner_issues_the_bridge_and_the_simulated_fleet(stack: Stack) -> None:
    store = CredentialStore(stack.auth / "passwd", stack.auth / "acl")
    expected = [("dtwin-bridge", True), *((m, False) for m in _fleet())]
    assert sorted((a.username, a.service) for a in store.accounts()) == sorted(expected)
    devices = read_credentials(stack.auth / "devices.json")
    assert sorted(devices) == sorted(_fleet())
    assert all(store.verify(m, pw) for m, pw in devices.items())
    bridge_password = (stack.auth / "bridge-password").read_text().strip()
    assert store.verify("dtwin-bridge", bridge_password)
    # hashes only where Mosquitto reads; each file belongs to the one user that reads it, private to it
    assert bridge_password not in (stack.auth / "passwd").read_text()
    modes = {p.name: (stat.S_IMODE(p.stat().st_mode), _owner(p)) for p in stack.auth.iterdir()}
    broker, app = stack.owners["MOSQUITTO_OWNER"], stack.owners["DTWIN_OWNER"]
    assert modes == {
        "passwd": (0o600, broker),
        "acl": (0o640, broker),
        "bridge-password": (0o600, app),
        "devices.json": (0o600, app),
    }


def test_provisioner_run_again_keeps_every_password(stack: Stack) -> None:
    before = {p.name: p.read_bytes() for p in stack.auth.iterdir()}
    again = stack.provision()
    assert again.returncode == 0, again.stderr
    assert "keeping the credentials" in again.stdout
    assert {p.name: p.read_bytes() for p in stack.auth.iterdir()} == before


async def test_an_anonymous_client_is_refused(stack: Stack) -> None:
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori"):
        async with stack.target(None, None).client():
            pass


async def test_the_bridge_and_the_simulator_run_with_the_provisioned_logins(
    stack: Stack, servers: dict[str, Server], tmp_path: Path
) -> None:
    """The bridge's compose command (password from its file) and the simulator's (one login per machine)
    carry telemetry of all 50 simulated machines into Kafka."""
    uid = uuid.uuid4().hex[:8]
    bridge_env = stack.env(
        "bridge",
        DTWIN_MQTT_URL=stack.broker.url,
        DTWIN_KAFKA_BOOTSTRAP=servers["kafka"].url,
        DTWIN_KAFKA_IDEMPOTENCE="false",  # Tansu
        DTWIN_TOPIC_TELEMETRY=f"raw.{uid}",
        DTWIN_TOPIC_DLQ=f"dlq.{uid}",
        DTWIN_TOPIC_DESIRED=f"desired.{uid}",
        DTWIN_TOPIC_ACKS=f"acks.{uid}",
        DTWIN_BRIDGE_CLIENT_ID=f"bridge-{uid}",
        DTWIN_BRIDGE_METRICS_PORT="0",
    )
    assert "DTWIN_MQTT_PASSWORD" not in bridge_env  # it comes from the file, inside the command
    bridge_log = tmp_path / "bridge.log"
    with bridge_log.open("wb") as out:
        bridge = subprocess.Popen(
            stack.command("bridge"), env=bridge_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        async def connected() -> bool:  # logged once its subscriptions are made
            assert bridge.poll() is None, bridge_log.read_text()
            return "bridge_connected" in bridge_log.read_text()

        await eventually(connected, timeout=30, what="bridge logged in and subscribed")
        simulate = [*stack.command("simulator"), "--duration", "2", "--quiet"]
        sim_env = stack.env("simulator", DTWIN_MQTT_URL=stack.broker.url)
        sim = subprocess.run(simulate, env=sim_env, capture_output=True, text=True, timeout=120, check=False)
        assert sim.returncode == 0, sim.stdout + sim.stderr
        published = int(re.search(r"published (\d+) messages", sim.stdout)[1])  # type: ignore[index]
        assert published >= SIMULATED
        raw = await read_topic(servers["kafka"].url, f"raw.{uid}", at_least=published, timeout=30)
        assert len(raw) == published
        assert sorted({bytes(r.key).decode() for r in raw}) == sorted(_fleet())  # type: ignore[attr-defined]
    finally:
        bridge.send_signal(signal.SIGTERM)
        stop_processes([bridge])


async def test_a_device_provisioned_later_connects_after_a_reload(stack: Stack) -> None:
    """docs/operations.md: `docker compose run --rm mqtt-provision dtwin devices provision <id>`, then
    SIGHUP to Mosquitto. The script hands the rewritten files back to Mosquitto's user."""
    done = stack.provision("dtwin", "devices", "provision", "CNC-7001")
    assert done.returncode == 0, done.stderr
    name, password = done.stdout.split()
    assert name == "CNC-7001"
    passwd = stack.auth / "passwd"
    assert (stat.S_IMODE(passwd.stat().st_mode), _owner(passwd)) == (0o600, stack.owners["MOSQUITTO_OWNER"])
    assert stack.broker.proc is not None
    stack.broker.proc.send_signal(signal.SIGHUP)

    async def accepted() -> bool:
        try:
            async with stack.target("CNC-7001", password).client():
                return True
        except aiomqtt.MqttError:
            return False

    await eventually(accepted, what="CNC-7001 accepted after the reload")
