"""The whole pipeline as separate processes: `dtwin simulate` -> Mosquitto -> `dtwin bridge` -> Kafka (Tansu)
-> `dtwin serve` -> PostgreSQL rows + Redis hash + a WebSocket client receiving the update. A malformed MQTT
payload lands in the DLQ and nothing crashes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
import websockets

from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.readings.repository import ReadingRepository
from dtwin_devkit.servers import Server, free_port
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.mqtt import MqttTarget

from .stack import admin_headers, own_database, processes, stack_env

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(servers: dict[str, Server], uid: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    name = f"e2e{uid}"
    port = free_port()
    simulate = ["simulate", "--machines", "5", "--rate", "2", "--duration", "120", "--id-offset", "7000"]
    with own_database(servers, name) as url:
        env = stack_env(servers, url, name, port, tmp_path)
        commands = {"backend": ["serve"], "bridge": ["bridge"], "simulator": simulate}
        with processes(env, tmp_path, commands):
            yield {**env, "BASE": f"127.0.0.1:{port}", "LOGS": str(tmp_path)}


async def test_simulated_telemetry_reaches_db_redis_and_websocket(stack: dict[str, str]) -> None:
    base = stack["BASE"]
    headers = await admin_headers(stack)
    async with httpx.AsyncClient(base_url=f"http://{base}", headers=headers) as http:

        async def ready() -> bool:
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout=60, what=f"backend ready (logs: {stack['LOGS']})")

        async with websockets.connect(f"ws://{base}/ws", additional_headers=headers) as ws:
            assert orjson.loads(await ws.recv())["type"] == "hello"
            sub = {"type": "subscribe", "sub": "p", "filter": {"machine_ids": ["pump-7001"]}}
            await ws.send(orjson.dumps(sub).decode())

            async def ws_update() -> dict[str, object]:
                while True:
                    msg = orjson.loads(await ws.recv())
                    if msg["type"] == "update":
                        for item in msg["items"]:
                            # The machine's telemetry (an analytics change may come first).
                            if item["id"] == "pump-7001" and item.get("kind") == "reported":
                                return dict(item)

            update = await asyncio.wait_for(ws_update(), 60)
        assert "temperature_c" in update["readings"]  # type: ignore[operator]
        # placement rides on a change only when it is news (the first one, or a move)
        assert update.get("machine_type", "centrifugal_pump") == "centrifugal_pump"

        twins = (await http.get("/api/v1/twins")).json()
        pump = next(t for t in twins["items"] if t["id"] == "pump-7001")
        assert (pump["machine_type"], pump["site"], pump["line"]) == ("centrifugal_pump", "site-1", "line-1")
        assert {t["id"] for t in twins["items"]} >= {
            "pump-7001",
            "comp-7002",
            "motor-7003",
            "cnc-7004",
            "conv-7005",
        }

    redis = aioredis.Redis.from_url(stack["DTWIN_REDIS_URL"])
    h = await redis.hgetall(f"{stack['DTWIN_REDIS_PREFIX']}:twin:pump-7001")
    await redis.aclose()
    assert h[b"machine_type"] == b"centrifugal_pump" and b"r:vibration_mm_s" in h

    engine = create_engine(stack["DTWIN_DATABASE_URL"])
    try:

        async def rows() -> int:
            async with create_sessionmaker(engine)() as s:
                return await ReadingRepository(s).count("pump-7001")

        assert await eventually(rows, what="rows in PostgreSQL") >= 7  # one message = 7 pump sensors
    finally:
        await engine.dispose()

    # a malformed payload goes to the DLQ and the pipeline keeps flowing
    target = MqttTarget.from_url(stack["DTWIN_MQTT_URL"])
    async with target.client() as c:
        await c.publish(
            "plant/site-1/line-1/pump-7001/telemetry", b'{"schema":1,"machine_id":"pump-7001"', qos=1
        )
    dlq = await read_topic(stack["DTWIN_KAFKA_BOOTSTRAP"], stack["DTWIN_TOPIC_DLQ"], at_least=1, timeout=30)
    record = orjson.loads(dlq[0].value)  # type: ignore[attr-defined]
    assert record["machine_id"] == "pump-7001" and "not valid JSON" in record["reason"]
    before = (await _twin(base, "pump-7001", headers))["ts"]
    await eventually(
        lambda: _newer(base, before, headers), timeout=20, what="telemetry still flowing after the reject"
    )
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        assert (await http.get("/readyz")).status_code == 200


async def _twin(base: str, machine: str, headers: dict[str, str]) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=f"http://{base}", headers=headers) as http:
        body: dict[str, str] = (await http.get(f"/api/v1/twins/{machine}")).json()
        return body


async def _newer(base: str, ts: str, headers: dict[str, str]) -> bool:
    return (await _twin(base, "pump-7001", headers))["ts"] > ts
