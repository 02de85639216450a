"""POST /twins/{id}/desired/dry-run over the embedded adapters: validation as 422 naming the field,
would-be desired state and delta, conflicts, insufficient history named, and nothing stored or sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dtwin.auth.identity import Role
from dtwin_devkit.testing import eventually
from tests.factories.auth import bearer, token_for
from tests.factories.telemetry import report_pump

PATCH = {"content-type": "application/merge-patch+json"}
URL = "/api/v1/twins/pump-9/desired/dry-run"


async def telemetry(app: FastAPI, client: httpx.AsyncClient, reported: dict[str, object]) -> None:
    await report_pump(app, client, reported, {"speed_rpm": 2900.0, "flow_m3_h": 120.0, "temperature_c": 60.0})


@pytest.fixture
async def pump(app: FastAPI, client: httpx.AsyncClient) -> None:
    await telemetry(app, client, {"mode": "on", "speed_setpoint_rpm": 2900})


def errors_of(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, Any]] = r.json()["errors"]
    return errors


@pytest.mark.usefixtures("pump")
async def test_out_of_range_unknown_and_non_numbers_are_422_naming_each_field(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(URL, json={"speed_setpoint_rpm": 4000}, headers=PATCH)
    [e] = errors_of(r)
    assert e == {
        "loc": ["body", "speed_setpoint_rpm"],
        "msg": "speed_setpoint_rpm=4000 out of range 1500..3000 rpm",
        "type": "out_of_range",
    }
    assert r.json()["detail"] == "speed_setpoint_rpm: speed_setpoint_rpm=4000 out of range 1500..3000 rpm"

    [e] = errors_of(await client.post(URL, json={"flux_capacitor": 1.21}, headers=PATCH))
    assert e["loc"] == ["body", "flux_capacitor"] and e["type"] == "unknown_setting"
    assert "not a setting of centrifugal_pump (settings: mode, speed_setpoint_rpm)" in e["msg"]

    for bad in ("fast", True, [2000], {"rpm": 2000}):
        [e] = errors_of(await client.post(URL, json={"speed_setpoint_rpm": bad}, headers=PATCH))
        assert e["loc"] == ["body", "speed_setpoint_rpm"] and e["type"] == "number_type", bad

    both = errors_of(await client.post(URL, json={"mode": "turbo", "speed_setpoint_rpm": 10}, headers=PATCH))
    assert [(e["loc"][-1], e["type"]) for e in both] == [
        ("mode", "enum"),
        ("speed_setpoint_rpm", "out_of_range"),
    ]


@pytest.mark.usefixtures("pump")
async def test_the_body_is_read_like_the_patch(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, content=b"[1]", headers=PATCH)
    assert r.status_code == 422 and "must be a JSON object" in r.json()["detail"]
    r = await client.post(URL, content=b'{"mode": "on"}', headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert (await client.post("/api/v1/twins/nope/desired/dry-run", json={"mode": "on"})).status_code == 404


@pytest.mark.usefixtures("pump")
async def test_the_would_be_state_delta_and_insufficient_history(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"speed_setpoint_rpm": 2000}, headers=PATCH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["desired"] == {"speed_setpoint_rpm": 2000}
    assert (body["version"], body["next_version"]) == (0, 1)
    assert body["delta"] == {"speed_setpoint_rpm": 2000}
    assert body["changes"] == {"speed_setpoint_rpm": {"reported": 2900, "desired": 2000}}
    assert body["conflicts"] == []
    effect = body["effect"]
    assert effect["settle_s"] == 120
    moved = ["vibration_mm_s", "pressure_bar", "flow_m3_h", "current_a", "speed_rpm", "power_kw"]
    assert [s["sensor"] for s in effect["sensors"]] == [*moved, "suction_pressure_bar"]
    flow = next(s for s in effect["sensors"] if s["sensor"] == "flow_m3_h")
    assert flow["method"] == "insufficient_history" and flow["predicted"] is None and flow["lower"] is None
    assert flow["current"] == 120.0 and (flow["lo"], flow["hi"], flow["unit"]) == (40, 150, "m3/h")
    assert "steady span(s) of this machine" in flow["reason"]
    assert effect["health"]["method"] == "no_model" and effect["health"]["predicted"] is None

    same = (await client.post(URL, json={"speed_setpoint_rpm": 2900}, headers=PATCH)).json()
    assert same["changes"] == {} and same["effect"]["sensors"] == []


@pytest.mark.usefixtures("pump")
async def test_a_pending_command_and_an_unreported_setting_are_conflicts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    r = await client.patch("/api/v1/twins/pump-9/desired", json={"speed_setpoint_rpm": 2500}, headers=PATCH)
    assert r.status_code == 200 and r.json()["command"]["status"] == "pending"
    body = (await client.post(URL, json={"speed_setpoint_rpm": 2000}, headers=PATCH)).json()
    [c] = body["conflicts"]
    assert c["kind"] == "pending_command" and c["settings"] == ["speed_setpoint_rpm"]
    assert c["command"]["version"] == 1 and c["command"]["status"] == "pending"
    assert "supersede it with version 2" in c["detail"]
    assert (body["version"], body["next_version"]) == (1, 2)

    # a type's setting this device never reported: a conflict, not an error
    fresh = await client.post(
        "/api/v1/twins",
        json={"id": "pump-new", "machine_type": "centrifugal_pump", "site": "s1", "line": "l1"},
    )
    assert fresh.status_code == 201
    r = await client.post(
        "/api/v1/twins/pump-new/desired/dry-run", json={"speed_setpoint_rpm": 2000}, headers=PATCH
    )
    assert r.status_code == 200, r.text
    assert [(c["kind"], c["settings"]) for c in r.json()["conflicts"]] == [
        ("not_reported", ["speed_setpoint_rpm"])
    ]


async def redis_snapshot(app: FastAPI) -> dict[bytes, bytes | None]:
    redis = app.state.adapters.redis
    return {k: await redis.dump(k) for k in sorted(await redis.keys("*"))}


@pytest.mark.usefixtures("pump")
async def test_nothing_is_stored_or_sent(app: FastAPI, client: httpx.AsyncClient) -> None:
    bus = app.state.adapters.bus
    sent = len(bus.retained("twin.desired"))
    twin = (await client.get("/api/v1/twins/pump-9")).json()
    events = (await client.get("/api/v1/twins/pump-9/events")).json()["items"]
    redis = await redis_snapshot(app)

    for patch in ({"speed_setpoint_rpm": 2000}, {"mode": "standby"}, {"speed_setpoint_rpm": 9999}):
        await client.post(URL, json=patch, headers=PATCH)

    assert len(bus.retained("twin.desired")) == sent  # no command to the device
    assert await redis_snapshot(app) == redis  # no Redis write (twin, change stream, counters)
    after = (await client.get("/api/v1/twins/pump-9")).json()
    assert (after["version"], after["desired_version"], after["desired"]) == (twin["version"], 0, {})
    assert (await client.get("/api/v1/twins/pump-9/events")).json()["items"] == events  # no change-log entry

    # the audit trail: the control (a real PATCH) is recorded, the dry runs are not
    assert (
        await client.patch("/api/v1/twins/pump-9/desired", json={"mode": "on"}, headers=PATCH)
    ).status_code == 200

    async def audited() -> list[str]:
        items = (await client.get("/api/v1/audit", params={"machine_id": "pump-9"})).json()["items"]
        return [i["route"] for i in items]

    await eventually(audited, what="the PATCH audited")
    assert await audited() == ["/api/v1/twins/{machine_id}/desired"]
    assert len(bus.retained("twin.desired")) == sent + 1  # the control reached the bus


@pytest.mark.usefixtures("pump")
async def test_a_viewer_may_ask(app: FastAPI) -> None:
    token = await token_for(app, Role.viewer)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=bearer(token)
    ) as viewer:
        assert (await viewer.post(URL, json={"mode": "standby"}, headers=PATCH)).status_code == 200
        r = await viewer.patch("/api/v1/twins/pump-9/desired", json={"mode": "standby"}, headers=PATCH)
        assert r.status_code == 403
