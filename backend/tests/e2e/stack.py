"""The platform as separate processes for end-to-end tests: `dtwin serve`, `dtwin bridge`, `dtwin simulate` on
the session's servers, each test with a database, Kafka topics, consumer groups and a Redis prefix of its own,
so what one test creates (twins, snapshots on twin.state) never reaches another test's rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from dtwin.config import Settings
from dtwin.core.migrate import upgrade_sync
from dtwin_devkit.servers import Server, env_for, stop_processes
from dtwin_devkit.testing import eventually

from ..factories.auth import bearer, token_from_settings

DTWIN = str(Path(sys.executable).parent / "dtwin")


@contextlib.contextmanager
def own_database(servers: dict[str, Server], name: str) -> Iterator[str]:
    """A fresh, migrated database on the session's PostgreSQL, dropped afterwards; yields its URL."""
    server_url = make_url(servers["postgres"].url)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=server_url.host, port=server_url.port, user=server_url.username, database="postgres"
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    url = server_url.set(database=name).render_as_string(hide_password=False)
    with ThreadPoolExecutor(1) as pool:  # own event loops, never inside the test's
        pool.submit(asyncio.run, admin(f"CREATE DATABASE {name}")).result()
        pool.submit(upgrade_sync, url).result()
        try:
            yield url
        finally:
            pool.submit(asyncio.run, admin(f"DROP DATABASE {name} WITH (FORCE)")).result()


def stack_env(
    servers: dict[str, Server], database_url: str, name: str, port: int, workdir: Path
) -> dict[str, str]:
    """DTWIN_* variables for processes on these servers, everything named after `name`."""
    return {
        **os.environ,
        **env_for(servers),
        "DTWIN_DATABASE_URL": database_url,
        "DTWIN_PORT": str(port),
        "DTWIN_TOPIC_TELEMETRY": f"{name}.raw",
        "DTWIN_TOPIC_DLQ": f"{name}.dlq",
        "DTWIN_TOPIC_STATE": f"{name}.state",
        "DTWIN_TOPIC_DESIRED": f"{name}.desired",
        "DTWIN_TOPIC_ACKS": f"{name}.acks",
        "DTWIN_TOPIC_ANOMALY_EVENTS": f"{name}.events",
        "DTWIN_TOPIC_DECISIONS": f"{name}.decisions",
        "DTWIN_CONSUMER_GROUP": f"{name}-backend",
        "DTWIN_REDIS_PREFIX": name,
        "DTWIN_BRIDGE_CLIENT_ID": f"{name}-bridge",
        "DTWIN_BRIDGE_SHARED_GROUP": name,
        "DTWIN_BRIDGE_METRICS_PORT": "",
        "DTWIN_MODELS_DIR": str(workdir / "models"),
        "DTWIN_FRONTEND_DIST": "",
    }


@contextlib.contextmanager
def processes(
    env: dict[str, str], logs: Path, commands: dict[str, list[str]]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start `dtwin <args>` per name (output in logs/<name>.log); on exit stop them in reverse order and
    fail if one had exited abnormally."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, args in commands.items():
            log = (logs / f"{name}.log").open("wb")
            procs[name] = subprocess.Popen([DTWIN, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        yield procs
    finally:
        stop_processes(list(reversed(procs.values())))
        crashed = [n for n, p in procs.items() if p.returncode not in (0, -15, 143)]
        assert not crashed, f"processes exited abnormally: {crashed}; logs in {logs}"


async def wait_ready(http: httpx.AsyncClient, logs: Path, timeout: float = 90) -> None:
    async def ready() -> bool:
        try:
            return (await http.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, timeout=timeout, what=f"backend ready (logs in {logs})")


async def admin_headers(env: dict[str, str]) -> dict[str, str]:
    """`Authorization` as the bootstrap admin of the stack whose DTWIN_* variables are `env`."""
    settings = Settings(database_url=env["DTWIN_DATABASE_URL"], jwt_secret=env["DTWIN_JWT_SECRET"])
    return bearer(await token_from_settings(settings))
