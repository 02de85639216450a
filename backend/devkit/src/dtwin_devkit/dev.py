"""`dtwin dev`: the real pipeline on this machine, as separate processes: backend, bridge and simulator
against the local PostgreSQL and Redis (default ports, or DTWIN_* overrides), plus a Tansu Kafka-protocol
broker started here when DTWIN_KAFKA_BOOTSTRAP is not set, and a Mosquitto started here with device
identity (password + ACL files, the bridge as its service account, each simulated machine logged in as
itself) when DTWIN_MQTT_URL is not set."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from dtwin_devkit.servers import DEV_JWT_SECRET, Server, start_mosquitto, start_tansu

DEV_DEFAULTS = {
    "DTWIN_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/dtwin",
    "DTWIN_REDIS_URL": "redis://127.0.0.1:6379/0",
    "DTWIN_JWT_SECRET": DEV_JWT_SECRET,  # real mode requires one; dev only
}


async def ensure_database(url: str) -> None:
    """Create the target PostgreSQL database if it does not exist yet."""
    import asyncpg

    u = make_url(url)
    if u.get_backend_name() != "postgresql" or not u.database:
        return
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database="postgres"
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", u.database):
            await conn.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await conn.close()


def run_dev(port: int, machines: int, rate: float) -> None:
    env = {**DEV_DEFAULTS, **os.environ, "DTWIN_PORT": str(port)}
    tansu: Server | None = None
    if not env.get("DTWIN_KAFKA_BOOTSTRAP"):
        tansu = start_tansu()
        env["DTWIN_KAFKA_BOOTSTRAP"] = tansu.url
    bridge_env, sim_env = env, env
    mosquitto: Server | None = None
    if not env.get("DTWIN_MQTT_URL"):
        mosquitto, bridge_env, sim_env = start_secure_mosquitto(env, machines)
        env["DTWIN_MQTT_URL"] = mosquitto.url
    asyncio.run(ensure_database(env["DTWIN_DATABASE_URL"]))
    dtwin = str(Path(sys.executable).parent / "dtwin")
    simulate = [dtwin, "simulate", "--machines", str(machines), "--rate", str(rate)]
    procs = [subprocess.Popen([dtwin, "serve", "--host", "0.0.0.0"], env=env)]
    procs.append(subprocess.Popen([dtwin, "bridge"], env=bridge_env))
    procs.append(subprocess.Popen(simulate, env=sim_env))
    print(
        f"dtwin dev: dashboard http://localhost:{port}/  kafka {env['DTWIN_KAFKA_BOOTSTRAP']}  "
        f"db {env['DTWIN_DATABASE_URL'].split('@')[-1]}  (Ctrl-C stops everything)",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if tansu is not None:
            tansu.stop()
        if mosquitto is not None:
            mosquitto.stop()


def start_secure_mosquitto(
    env: dict[str, str], machines: int
) -> tuple[Server, dict[str, str], dict[str, str]]:
    """A throwaway Mosquitto that requires a login: the bridge's service account and one device account per
    simulated machine (`dtwin simulate --machines N` plans the same ids). Returns the server and the
    bridge's and the simulator's environments."""
    from dtwin_pipeline.devices.credentials import CredentialStore, write_credentials
    from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet

    issued: dict[str, str] = {}

    def provision(password_file: Path, acl_file: Path) -> None:
        store = CredentialStore(password_file, acl_file)
        issued["dtwin-bridge"] = store.provision("dtwin-bridge", service=True)
        for m in plan_fleet(SimulatorConfig(machines=machines)):
            issued[m.id] = store.provision(m.id)

    server = start_mosquitto(provision)
    assert server.workdir is not None
    creds = server.workdir / "devices.json"
    write_credentials(creds, {k: v for k, v in issued.items() if k != "dtwin-bridge"})
    files = {
        "DTWIN_MQTT_URL": server.url,
        "DTWIN_MQTT_PASSWORD_FILE": server.extra["password_file"],
        "DTWIN_MQTT_ACL_FILE": server.extra["acl_file"],
    }
    env.update(files)
    print(f"dtwin dev: mosquitto {server.url} with device identity; files in {server.workdir}", flush=True)
    bridge = {**env, "DTWIN_MQTT_USERNAME": "dtwin-bridge", "DTWIN_MQTT_PASSWORD": issued["dtwin-bridge"]}
    return server, bridge, {**env, "DTWIN_MQTT_DEVICE_CREDENTIALS": str(creds)}
