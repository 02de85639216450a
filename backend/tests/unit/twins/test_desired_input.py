"""Desired-state patches a client may send (issue #13), and the answer for a twin without placement."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin_devkit.testing import eventually

PATCH = {"content-type": "application/merge-patch+json"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"setpoint": 99999999999999999999999}', "64-bit"),  # orjson would store 1e23
        (b'{"setpoint": -9223372036854775809}', "64-bit"),
        (b'{"setpoint": NaN}', "finite"),
        (b'{"mode": "o\\u0000ff"}', "NUL"),
        (b'{"bad key": 1}', "names must match"),
        (b'{"limits": {"\\u0000": 1}}', "NUL"),
        (b'{"a": [[[[[1]]]]]}', "nested deeper than 5"),
        (b'{"a": ' + b"[" * 300 + b"]" * 300 + b"}", "nested deeper"),
        (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested deeper"),
        (b'{"mode": "\xff"}', "UTF-8"),
    ],
)
async def test_unstorable_patches_are_422_and_change_nothing(
    client: httpx.AsyncClient, body: bytes, says: str
) -> None:
    await client.post("/api/v1/twins", json={"id": "pump-1", "site": "s1", "line": "l1"})
    r = await client.patch("/api/v1/twins/pump-1/desired", content=body, headers=PATCH)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.json()["detail"]
    desired = (await client.get("/api/v1/twins/pump-1/desired")).json()
    assert desired["version"] == 0 and desired["desired"] == {}


async def test_the_desired_document_cannot_grow_past_its_limit(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/twins", json={"id": "pump-1", "site": "s1", "line": "l1"})
    chunk = "x" * 6000
    for i in range(2):
        r = await client.patch("/api/v1/twins/pump-1/desired", json={f"k{i}": chunk}, headers=PATCH)
        assert r.status_code == 200, r.text
    r = await client.patch("/api/v1/twins/pump-1/desired", json={"k2": chunk}, headers=PATCH)
    assert r.status_code == 422 and "would be" in r.json()["detail"]
    assert (await client.get("/api/v1/twins/pump-1/desired")).json()["version"] == 2


async def test_desired_for_a_twin_without_placement_is_stored_and_sent_once_it_reports_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.post("/api/v1/twins", json={"id": "pump-1", "machine_type": "centrifugal_pump"})
    r = await client.patch("/api/v1/twins/pump-1/desired", content=b'{"mode": "standby"}', headers=PATCH)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["desired"] == {"mode": "standby"}
    assert r.json()["command"]["status"] == "awaiting_placement" and r.headers["etag"] == '"1"'
    bus = app.state.adapters.bus
    assert bus.retained("twin.desired") == []  # no device topic yet

    telemetry = {
        "schema": 1,
        "machine_id": "pump-1",
        "machine_type": "centrifugal_pump",
        "site": "s1",
        "line": "l1",
        "ts": datetime.now(UTC).isoformat(),
        "readings": {"speed_rpm": 2900.0},
    }
    await bus.produce("telemetry.raw", orjson.dumps(telemetry), key=b"pump-1")

    async def sent() -> list[dict[str, object]]:
        return [orjson.loads(m.value) for m in bus.retained("twin.desired")]

    commands = await eventually(sent, timeout=20, what="command sent once the machine reported its placement")
    assert [(c["site"], c["line"], c["version"], c["desired"]) for c in commands] == [
        ("s1", "l1", 1, {"mode": "standby"})
    ]
    desired = (await client.get("/api/v1/twins/pump-1/desired")).json()
    assert desired["command"]["status"] == "pending" and desired["command"]["version"] == 1
