"""Two backend processes (`dtwin serve`, separate OS processes) behind one Redis and one Kafka topic: a
WebSocket client of either receives the same stream — the same changes under the same sequence numbers, in
the same order — whichever process consumed the telemetry."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from dtwin.config import Settings
from dtwin.kit.bus import KafkaBus
from dtwin_devkit.servers import DEV_JWT_SECRET, Server, env_for, free_port, stop_processes
from dtwin_devkit.testing import eventually

from ...factories.auth import token_from_settings

DTWIN = str(Path(sys.executable).parent / "dtwin")


@pytest.fixture
def two_backends(
    servers: dict[str, Server], pg_url: str, uid: str, tmp_path: Path
) -> Iterator[tuple[list[str], str]]:
    topic = f"two.raw.{uid}"
    procs = []
    urls = []
    for name in ("a", "b"):
        port = free_port()
        env = {
            **os.environ,
            **env_for(servers),
            "DTWIN_DATABASE_URL": pg_url,
            "DTWIN_PORT": str(port),
            "DTWIN_TOPIC_TELEMETRY": topic,
            "DTWIN_TOPIC_DLQ": f"two.dlq.{uid}",
            "DTWIN_CONSUMER_GROUP": f"two-{uid}",
            "DTWIN_REDIS_PREFIX": f"two{uid}",
            "DTWIN_FRONTEND_DIST": "",
            "DTWIN_MODELS_DIR": str(tmp_path / "models"),
        }
        log = (tmp_path / f"backend-{name}.log").open("wb")
        procs.append(subprocess.Popen([DTWIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"127.0.0.1:{port}")
    try:
        yield urls, topic
    finally:
        stop_processes(procs)


async def collect(
    url: str,
    token: str,
    want: set[str],
    seen: set[str],
    stream: list[tuple[int, str]],
    ready: asyncio.Event,
) -> None:
    async with websockets.connect(f"ws://{url}/ws") as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())  # as a browser does
        hello = orjson.loads(await ws.recv())
        assert hello["type"] == "hello"
        sub = {"type": "subscribe", "sub": "fans", "filter": {"machine_ids": sorted(want)}}
        await ws.send(orjson.dumps(sub).decode())
        assert orjson.loads(await ws.recv())["type"] == "subscribed"
        assert orjson.loads(await ws.recv())["type"] == "snapshot"
        ready.set()
        while not want <= seen:
            msg = orjson.loads(await ws.recv())
            if msg["type"] == "update":
                seen.update(u["id"] for u in msg["items"] if u["kind"] == "reported")
                stream.extend((msg["seq"], u["id"]) for u in msg["items"])


async def test_two_backend_processes_deliver_the_same_stream(
    two_backends: tuple[list[str], str], servers: dict[str, Server], uid: str, pg_url: str
) -> None:
    (url_a, url_b), topic = two_backends

    async def ready(url: str) -> bool:
        async with httpx.AsyncClient(base_url=f"http://{url}") as http:
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

    for url in (url_a, url_b):
        await eventually(lambda url=url: ready(url), timeout=60, what=f"backend {url} ready")  # type: ignore[misc]
    token = await token_from_settings(Settings(database_url=pg_url, jwt_secret=DEV_JWT_SECRET))
    machines = {f"fan-{uid}-{k}" for k in range(12)}
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    stream_a: list[tuple[int, str]] = []
    stream_b: list[tuple[int, str]] = []
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    clients = [
        asyncio.create_task(collect(url_a, token, machines, seen_a, stream_a, ready_a)),
        asyncio.create_task(collect(url_b, token, machines, seen_b, stream_b, ready_b)),
    ]
    bus = KafkaBus(servers["kafka"].url)
    await bus.start()
    try:
        await asyncio.wait_for(asyncio.gather(ready_a.wait(), ready_b.wait()), 10)
        now = datetime.now(UTC).isoformat()
        for m in sorted(machines):
            body = {"schema": 1, "machine_id": m, "ts": now, "readings": {"speed_rpm": 900.0}}
            await bus.produce(topic, orjson.dumps(body), key=m.encode())
        await bus.flush()
        await asyncio.wait_for(asyncio.gather(*clients), 60)
    finally:
        for c in clients:
            c.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*clients, return_exceptions=True)
        await bus.stop()
    assert seen_a == machines and seen_b == machines
    common = min(len(stream_a), len(stream_b))
    assert stream_a[:common] == stream_b[:common]
    assert [seq for seq, _ in stream_a] == sorted(seq for seq, _ in stream_a)
