"""The machine-type registry API over the embedded adapters (SQLite): seeding from the catalogue, versions
and preconditions, validation errors as problem+json, deletion rules, restarts, and the scoring engine's
limit detector following a changed range."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.contracts.catalogue import machine_catalogue
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin

MACHINE_TYPES = machine_catalogue()  # what the registry is seeded from
URL = "/api/v1/machine-types"
PRESS: dict[str, Any] = {
    "description": "Test press",
    "sensors": [
        {"name": "pressure_bar", "unit": "bar", "label": "Main pressure", "lo": 0, "hi": 100},
        {"name": "oil_temperature_c", "unit": "°C", "lo": 20, "hi": 70},
    ],
}


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


async def test_catalogue_types_are_seeded_at_startup(client: httpx.AsyncClient) -> None:
    body = (await client.get(URL)).json()
    assert body["count"] == len(MACHINE_TYPES) and body["next_cursor"] is None
    assert [t["name"] for t in body["items"]] == sorted(MACHINE_TYPES)
    pump = next(t for t in body["items"] if t["name"] == "centrifugal_pump")
    want = MACHINE_TYPES["centrifugal_pump"]
    assert pump["description"] == want.description and pump["version"] == 1
    assert [(s["name"], s["unit"], s["lo"], s["hi"]) for s in pump["sensors"]] == [
        (s.name, s.unit, s.lo, s.hi) for s in want.sensors
    ]
    assert pump["sensors"][0]["label"] is None
    assert pump["settings"] == [
        {"name": "speed_setpoint_rpm", "unit": "rpm", "lo": 1500.0, "hi": 3000.0, "decimals": 0,
         "description": "drive speed"}
    ]  # fmt: skip
    assert next(t for t in body["items"] if t["name"] == "energy_meter")["settings"] == []


async def test_list_pages_follow_the_cursor(client: httpx.AsyncClient) -> None:
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(URL, params=params)).json()
        assert page["count"] == len(MACHINE_TYPES)
        names += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == sorted(MACHINE_TYPES)


async def test_put_creates_then_replaces_with_versions_and_etag(client: httpx.AsyncClient) -> None:
    r = await client.put(f"{URL}/press-x", json=PRESS)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{URL}/press-x" and r.headers["etag"] == '"1"'
    created = r.json()
    assert created["name"] == "press-x" and created["version"] == 1
    assert created["sensors"][0] == {
        "name": "pressure_bar", "unit": "bar", "label": "Main pressure", "lo": 0.0, "hi": 100.0,
        "phys_lo": None, "phys_hi": None, "counter": False,
    }  # fmt: skip

    got = await client.get(f"{URL}/press-x")
    assert got.headers["etag"] == '"1"' and got.json() == created

    edited = {**got.json(), "sensors": [{**PRESS["sensors"][0], "hi": 80}]}  # GET's document sent back
    for key in ("version", "created_at", "updated_at", "settings"):
        edited.pop(key)
    r = await client.put(f"{URL}/press-x", json=edited)
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert [(s["name"], s["hi"]) for s in r.json()["sensors"]] == [("pressure_bar", 80.0)]
    assert r.json()["created_at"] == created["created_at"]

    again = await client.put(f"{URL}/press-x", json=edited)  # the same document: nothing changes
    assert again.status_code == 200 and again.json()["version"] == 2


async def test_if_match_guards_put_and_delete(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"{URL}/press-y", json=PRESS)).status_code == 201
    stale = await client.put(f"{URL}/press-y", json={"sensors": []}, headers={"If-Match": '"7"'})
    assert problem(stale, 412)["detail"] == "machine type 'press-y' is at version 1, not 7; read it again"
    r = await client.put(f"{URL}/press-y", json={"sensors": []}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    problem(await client.delete(f"{URL}/press-y", headers={"If-Match": '"1"'}), 412)
    problem(await client.put(f"{URL}/press-y", json=PRESS, headers={"If-Match": "v2"}), 400)
    missing = await client.put(f"{URL}/press-none", json=PRESS, headers={"If-Match": '"1"'})
    assert "does not exist" in problem(missing, 412)["detail"]
    assert (await client.delete(f"{URL}/press-y", headers={"If-Match": '"2"'})).status_code == 204


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"sensors": [{"name": "p", "lo": 5, "hi": 5}]},
            "body.sensors.0: Value error, sensor 'p': lo (5.0) must be less than hi (5.0)",
        ),
        (
            {"sensors": [{"name": "p", "lo": 9, "hi": 1}]},
            "body.sensors.0: Value error, sensor 'p': lo (9.0) must be less than hi (1.0)",
        ),
        ({"sensors": [{"name": "", "lo": 0, "hi": 1}]}, "body.sensors.0.name: String should match pattern"),
        ({"sensors": [{"name": "Temp C", "lo": 0, "hi": 1}]}, "body.sensors.0.name: String should match"),
        (
            {"sensors": [{"name": "p", "lo": 0, "hi": 1}, {"name": "p", "lo": 0, "hi": 2}]},
            "body.sensors: Value error, duplicate sensor names: p",
        ),
        ({"sensors": [], "colour": "red"}, "body.colour: Extra inputs are not permitted"),
        (
            {"sensors": [{"name": "p", "lo": 0, "hi": 1, "critical_hi": 2}]},
            "body.sensors.0.critical_hi: Extra inputs are not permitted",
        ),
        ({"description": "no sensors"}, "body.sensors: Field required"),
        ({"sensors": [{"name": "p", "lo": 0}]}, "body.sensors.0.hi: Field required"),
        ({"name": "", "sensors": []}, "body.name: String should match pattern"),
    ],
)
async def test_invalid_definitions_are_422_problem_json(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    r = await client.put(f"{URL}/press-z", json=body)
    assert detail in problem(r, 422)["detail"]
    problem(await client.get(f"{URL}/press-z"), 404)  # nothing was stored


async def test_non_finite_bounds_are_422(client: httpx.AsyncClient) -> None:
    body = b'{"sensors": [{"name": "p", "lo": -Infinity, "hi": NaN}]}'  # Python's JSON reader takes these
    r = await client.put(f"{URL}/press-n", content=body, headers={"content-type": "application/json"})
    detail = problem(r, 422)["detail"]
    assert "body.sensors.0.lo: Input should be a finite number" in detail
    assert "body.sensors.0.hi: Input should be a finite number" in detail


async def test_body_name_must_match_the_path(client: httpx.AsyncClient) -> None:
    r = await client.put(f"{URL}/press-a", json={**PRESS, "name": "press-b"})
    assert problem(r, 422)["detail"] == "body name 'press-b' differs from the path's 'press-a'"
    assert (await client.put(f"{URL}/press-a", json={**PRESS, "name": "press-a"})).status_code == 201


@pytest.mark.parametrize("name", ["bad name", "-leading-dash", "x" * 65])
async def test_invalid_type_names_are_422(client: httpx.AsyncClient, name: str) -> None:
    assert "path.name: String should" in problem(await client.put(f"{URL}/{name}", json=PRESS), 422)["detail"]


async def test_unknown_type_is_404(client: httpx.AsyncClient) -> None:
    assert problem(await client.get(f"{URL}/nope"), 404)["detail"] == "no machine type 'nope'"
    problem(await client.delete(f"{URL}/nope"), 404)


async def test_delete_is_refused_while_a_twin_has_the_type(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"{URL}/press-d", json=PRESS)).status_code == 201
    r = await client.post("/api/v1/twins", json={"id": "press-0001", "machine_type": "press-d"})
    assert r.status_code == 201
    refused = await client.delete(f"{URL}/press-d")
    assert problem(refused, 409)["detail"] == (
        "1 twin(s) have machine type 'press-d' (press-0001); delete them first"
    )
    assert (await client.delete("/api/v1/twins/press-0001")).status_code == 204
    assert (await client.delete(f"{URL}/press-d")).status_code == 204
    problem(await client.get(f"{URL}/press-d"), 404)
    assert "press-d" not in [t["name"] for t in (await client.get(URL)).json()["items"]]
    again = await client.put(f"{URL}/press-d", json=PRESS)  # re-created: the version sequence goes on
    assert again.status_code == 201 and again.json()["version"] == 3


async def test_operator_edits_and_deletions_survive_a_restart(embedded_settings: Settings) -> None:
    pump = MACHINE_TYPES["centrifugal_pump"]
    edited = {
        "sensors": [{"name": s.name, "unit": s.unit, "lo": s.lo, "hi": 70.0 if s.name == "temperature_c" else s.hi}
                    for s in pump.sensors]
    }  # fmt: skip
    for run in range(2):
        app = create_app(embedded_settings)
        async with (
            app.router.lifespan_context(app),
            await as_admin(app, "http://t") as c,
        ):
            if run == 0:
                assert (await c.put(f"{URL}/centrifugal_pump", json=edited)).status_code == 200
                assert (await c.delete(f"{URL}/boiler")).status_code == 204
                continue
            got = (await c.get(f"{URL}/centrifugal_pump")).json()  # seeding again changed nothing
            assert got["version"] == 2
            assert next(s["hi"] for s in got["sensors"] if s["name"] == "temperature_c") == 70.0
            problem(await c.get(f"{URL}/boiler"), 404)
            assert (await c.get(f"{URL}/conveyor")).json()["version"] == 1
            ranges = app.state.machine_type_ranges
            assert ranges("centrifugal_pump", "temperature_c") == (35.0, 70.0)
            assert ranges("boiler", "steam_pressure_bar") is None


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def feed_press(app: FastAPI, start: int, n: int) -> None:
    bus = app.state.adapters.bus
    for i in range(start, start + n):
        body = {
            "schema": 1,
            "machine_id": "press-0042",
            "machine_type": "press-lim",
            "ts": (T0 + timedelta(seconds=i)).isoformat(),
            "readings": {
                "pressure_bar": 50.0 + 0.5 * math.sin(i / 5),
                "oil_temperature_c": 40.0 + (i % 4) * 0.1,
            },
        }
        await bus.produce("telemetry.raw", orjson.dumps(body), key=b"press-0042")


async def test_a_put_range_changes_what_the_limit_detector_flags(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.put(f"{URL}/press-lim", json=PRESS)).status_code == 201  # pressure 0..100
    await feed_press(app, 0, 60)

    async def scored_through(i: int) -> dict[str, Any]:
        h: dict[str, Any] = (await client.get("/api/v1/twins/press-0042/health")).json()
        done = h.get("scored") and h.get("ts") == (T0 + timedelta(seconds=i)).isoformat().replace(
            "+00:00", "Z"
        )
        return h if done else {}

    healthy = await eventually(lambda: scored_through(59), what="60 readings scored")
    assert healthy["is_anomaly"] is False
    window = {"from": T0.isoformat()}
    assert (await client.get("/api/v1/twins/press-0042/anomalies", params=window)).json()["items"] == []

    narrowed = {**PRESS, "sensors": [{**PRESS["sensors"][0], "lo": 0, "hi": 20}, PRESS["sensors"][1]]}
    assert (await client.put(f"{URL}/press-lim", json=narrowed)).json()["version"] == 2
    await feed_press(app, 60, 5)  # the same ~50 bar, now far above the operating range

    async def flagged() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await client.get("/api/v1/twins/press-0042/anomalies", params=window)
        ).json()["items"]
        return [e for e in items if e["kind"] == "start"]

    starts = await eventually(flagged, what="anomaly event after the range changed")
    assert starts[0]["detector"] == "limit"
    assert starts[0]["explanation"][0]["sensor"] == "pressure_bar"
    assert starts[0]["ts"] >= (T0 + timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
