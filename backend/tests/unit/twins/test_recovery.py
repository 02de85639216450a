"""Redis losing the live twins (a restart without persistence, a flush, a failover to an empty replica): the
loss is noticed by the missing epoch marker even while telemetry recreates active twins at once, the twins
are rebuilt with the operator's state (attributes, desired state, command outcome) winning over what
telemetry recreated, and versions and change seqs never go backwards (also across an embedded restart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin

TWIN = "/api/v1/twins/pump-1"
MERGE = {"content-type": "application/merge-patch+json"}


@pytest.fixture
def app_settings(embedded_settings: Settings) -> Settings:
    return embedded_settings.model_copy(update={"redis_check_s": 0.2})


async def telemetry(
    app: FastAPI, reported: dict[str, Any], speed: float = 2900.0, later_s: float = 0.0
) -> None:
    body = {
        "schema": 1,
        "machine_id": "pump-1",
        "machine_type": "centrifugal_pump",
        "site": "s1",
        "line": "l1",
        "ts": (datetime.now(UTC) + timedelta(seconds=later_s)).isoformat(),
        "readings": {"speed_rpm": speed},
        "reported": reported,
    }
    await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=b"pump-1")


async def operator_state(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    """A twin with attributes, a desired state and a device's answer to it."""
    await telemetry(app, {"mode": "on"})
    await eventually(lambda: _exists(client), what="twin registered")
    r = await client.put(f"{TWIN}/attributes", json={"attributes": {"serial": "SN-1", "vendor": "ACME"}})
    assert r.status_code == 200, r.text
    r = await client.patch(f"{TWIN}/desired", content=b'{"mode": "standby"}', headers=MERGE)
    assert r.status_code == 200, r.text
    ack = {
        "schema": 1,
        "machine_id": "pump-1",
        "version": 1,
        "status": "accepted",
        "applied": {"mode": "standby"},
        "ts": datetime.now(UTC).isoformat(),
    }
    await app.state.adapters.bus.produce("twin.acks", orjson.dumps(ack), key=b"pump-1")

    async def acked() -> dict[str, Any]:
        twin: dict[str, Any] = (await client.get(TWIN)).json()
        return twin if (twin["command"] or {}).get("status") == "accepted" else {}

    twin = await eventually(acked, what="ack recorded")

    async def durable() -> bool:  # the registry row is written just after Redis (twins/acks.py)
        rows = await app.state.services.durable.registry.all()
        return any(r.id == "pump-1" and (r.command or {}).get("status") == "accepted" for r in rows)

    await eventually(durable, what="the ack in the durable copy")  # else a Redis loss now loses it
    return twin


async def _exists(client: httpx.AsyncClient) -> bool:
    return (await client.get(TWIN)).status_code == 200


def operator_part(twin: dict[str, Any]) -> tuple[Any, ...]:
    return twin["attributes"], twin["desired"], twin["desired_version"], twin["command"]


async def test_a_redis_that_lost_everything_is_noticed_and_rebuilt_with_the_operators_state(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await operator_state(app, client)
    assert before["command"]["applied"] == {"mode": "standby"}
    guard = app.state.state_guard
    assert await guard.intact()
    rebuilds = guard.rebuilds  # the first start rebuilt (from nothing) too

    await app.state.adapters.redis.flushall()  # Redis restarted empty
    await telemetry(app, {"mode": "standby"}, speed=1500.0)  # the device keeps reporting at once

    async def restored() -> dict[str, Any]:
        r = await client.get(TWIN)
        twin: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return twin if twin and twin["attributes"] and twin["readings"].get("speed_rpm") == 1500.0 else {}

    after = await eventually(restored, timeout=15, what="twin rebuilt after the loss")
    assert operator_part(after) == operator_part(before)
    assert after["reported"]["mode"] == "standby" and after["delta"] == {}
    assert after["version"] > before["version"]  # an ETag from before the loss never matches again

    async def marked() -> bool:  # the marker is written once the rebuild is complete
        return guard.rebuilds == rebuilds + 1 and await guard.intact()

    await eventually(marked, what="a new epoch marker")
    # the operator can go on from the restored desired version
    r = await client.patch(f"{TWIN}/desired", content=b'{"mode": "on"}', headers={**MERGE, "if-match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text


async def test_an_idle_twin_comes_back_too_and_the_fleet_list_agrees(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await operator_state(app, client)
    r = await client.post(
        "/api/v1/twins", json={"id": "idle-1", "machine_type": "press", "attributes": {"a": 1}}
    )
    assert r.status_code == 201, r.text
    await app.state.adapters.redis.flushall()

    async def back() -> bool:
        r = await client.get("/api/v1/twins/idle-1")
        return r.status_code == 200 and r.json()["attributes"] == {"a": 1}

    await eventually(back, timeout=15, what="idle twin rebuilt")
    ids = {t["id"] for t in (await client.get("/api/v1/twins")).json()["items"]}
    assert {"idle-1", "pump-1"} <= ids


async def test_versions_never_go_backwards_across_an_embedded_restart(embedded_settings: Settings) -> None:
    versions = []
    for run in range(2):
        app = create_app(embedded_settings)
        async with app.router.lifespan_context(app), await as_admin(app) as c:
            if run == 0:
                twin = await operator_state(app, c)
                for k in range(5):  # a few more changes
                    await telemetry(app, {"mode": "standby"}, speed=1000.0 + k, later_s=1.0 + k)
                await eventually(lambda: _speed(c, 1004.0), what="changes applied")
                twin = (await c.get(TWIN)).json()
            else:
                twin = await eventually(lambda: _twin(c), what="twin rebuilt at startup")
            versions.append(twin["version"])
            assert operator_part(twin)[1:3] == ({"mode": "standby"}, 1)
            assert twin["command"]["status"] == "accepted"
    assert versions[1] > versions[0]


async def _speed(client: httpx.AsyncClient, speed: float) -> bool:
    r = await client.get(TWIN)
    return r.status_code == 200 and r.json()["readings"].get("speed_rpm") == speed


async def _twin(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get(TWIN)
    return r.json() if r.status_code == 200 else {}


def test_embedded_settings_keep_their_database(embedded_settings: Settings, tmp_path: Path) -> None:
    assert str(tmp_path) in embedded_settings.database_url  # the restart test reopens the same SQLite
