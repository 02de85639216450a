"""Alarms end to end over the embedded adapters: a threshold rule made through the API raises an alarm from
telemetry on the bus; the operator acknowledges it, it clears when the value is back and closes; the history
holds every transition with its actor; shelving, comments, bulk acknowledgement, roles and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.auth.identity import Role
from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin, bearer, token_for

T0 = datetime.now(UTC) - timedelta(minutes=30)
MACHINE = "boiler-42"
RULE = {
    "name": "drum pressure high",
    "machine_type": "test_boiler",
    "sensor": "pressure_bar",
    "kind": "hi",
    "threshold": 10.0,
    "deadband": 0.5,
    "priority": "high",
}


@pytest.fixture
async def app(embedded_settings: Settings) -> AsyncIterator[FastAPI]:
    settings = embedded_settings.model_copy(update={"alarm_rules_refresh_s": 0.05, "simulator_machines": 0})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await as_admin(app) as c:
        yield c


async def send(app: FastAPI, seconds: list[int], value: float, machine: str = MACHINE) -> None:
    for s in seconds:
        body = {
            "schema": 1,
            "machine_id": machine,
            "machine_type": "test_boiler",
            "site": "plant-a",
            "ts": (T0 + timedelta(seconds=s)).isoformat(),
            "readings": {"pressure_bar": value},
        }
        await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=machine.encode())


async def known(app: FastAPI, c: httpx.AsyncClient, machine: str = "seen-0") -> None:
    """A first reading of a machine of the rule's type, so the type's sensors are known (rules are checked
    against what the scope measures)."""
    await send(app, [-600], 5.0, machine=machine)

    async def seen() -> bool:
        return (await c.get(f"/api/v1/twins/{machine}")).status_code == 200

    await eventually(seen, what=f"{machine} in the fleet")


async def alarm_of(c: httpx.AsyncClient, machine: str = MACHINE, **params: Any) -> dict[str, Any]:
    async def found() -> dict[str, Any]:
        items = (await c.get("/api/v1/alarms", params={"machine_id": machine, **params})).json()["items"]
        return items[0] if items else {}

    return await eventually(found, what=f"an alarm of {machine} ({params})")


async def test_lifecycle_from_a_rule_to_a_closed_alarm(app: FastAPI, client: httpx.AsyncClient) -> None:
    await known(app, client)
    r = await client.post("/api/v1/alarm-rules", json=RULE)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    await app.state.alarm_stage.refresh_rules(force=True)
    await send(app, [0, 1], 9.0)
    await send(app, [2, 3], 12.5)  # over the threshold: raised
    alarm = await alarm_of(client, state="unack_active")
    assert alarm["condition"] == "hi:pressure_bar" and alarm["priority"] == "high"
    assert alarm["site"] == "plant-a" and alarm["source"] == "threshold" and alarm["value"] == 12.5
    assert "above hi 10" in alarm["message"]
    badge = (await client.get("/api/v1/alarms/summary")).json()
    assert badge["unacknowledged"] == 1 and badge["by_priority"]["high"] == 1

    r = await client.post(f"/api/v1/alarms/{alarm['id']}/ack", json={"comment": "on it"})
    assert r.status_code == 200 and r.json()["state"] == "ack_active"
    assert r.json()["acked_by"] == "user:admin"
    again = await client.post(f"/api/v1/alarms/{alarm['id']}/ack", json={})
    assert again.status_code == 409
    assert (await client.get("/api/v1/alarms/summary")).json()["unacknowledged"] == 0

    await send(app, [4], 9.8)  # inside, but not by the deadband: still active
    await send(app, [5], 9.0)  # back: acknowledged and cleared closes it
    closed = await alarm_of(client, state="normal")
    assert closed["id"] == alarm["id"] and closed["closed_at"] is not None
    detail = (await client.get(f"/api/v1/alarms/{alarm['id']}")).json()
    assert [(h["kind"], h["state"], h["actor"]) for h in detail["history"]] == [
        ("raised", "unack_active", "system"),
        ("acknowledged", "ack_active", "user:admin"),
        ("cleared", "normal", "system"),
    ]
    assert detail["history"][1]["comment"] == "on it"

    await send(app, [6, 7], 11.0)  # a new excursion is a new alarm
    second = await alarm_of(client, state="unack_active")
    assert second["id"] != alarm["id"]
    await send(app, [8], 8.0)  # back before anyone acknowledged: waits for an acknowledgement
    waiting = await alarm_of(client, state="unack_cleared")
    r = await client.post(f"/api/v1/alarms/{waiting['id']}/ack", json={})
    assert r.json()["state"] == "normal"


async def test_shelve_comment_bulk_ack_roles_and_bad_input(app: FastAPI, client: httpx.AsyncClient) -> None:
    await known(app, client)
    rule = (await client.post("/api/v1/alarm-rules", json=RULE)).json()
    await app.state.alarm_stage.refresh_rules(force=True)
    await send(app, [0], 15.0, machine="b-1")
    await send(app, [0], 15.0, machine="b-2")
    one = await alarm_of(client, machine="b-1")
    two = await alarm_of(client, machine="b-2")

    r = await client.post(
        f"/api/v1/alarms/{one['id']}/shelve", json={"duration_s": 600, "reason": "known leak"}
    )
    assert r.status_code == 200 and r.json()["shelved_until"] is not None
    hidden = (await client.get("/api/v1/alarms", params={"hidden": "true"})).json()["items"]
    assert [a["id"] for a in hidden] == [one["id"]]
    assert (await client.get("/api/v1/alarms/summary")).json()["shelved"] == 1
    assert (await client.post(f"/api/v1/alarms/{one['id']}/unshelve", json={})).json()[
        "shelved_until"
    ] is None
    assert (await client.post(f"/api/v1/alarms/{one['id']}/unshelve", json={})).status_code == 409
    r = await client.post(f"/api/v1/alarms/{one['id']}/comment", json={"comment": "valve ordered"})
    assert r.status_code == 200

    bulk = await client.post(
        "/api/v1/alarms/ack", json={"ids": [one["id"], two["id"], 999_999], "comment": "x"}
    )
    assert bulk.json() == {"acknowledged": [one["id"], two["id"]], "skipped": {"999999": "not found"}}
    kinds = [h["kind"] for h in (await client.get(f"/api/v1/alarms/{one['id']}")).json()["history"]]
    assert kinds == ["raised", "shelved", "unshelved", "commented", "acknowledged"]

    viewer = bearer(await token_for(app, Role.viewer))
    assert (await client.get("/api/v1/alarms", headers=viewer)).status_code == 200
    assert (
        await client.post(f"/api/v1/alarms/{two['id']}/comment", json={"comment": "x"}, headers=viewer)
    ).status_code == 403
    operator = bearer(await token_for(app, Role.operator))
    assert (await client.post("/api/v1/alarm-rules", json=RULE, headers=operator)).status_code == 403
    assert (
        await client.post(f"/api/v1/alarms/{two['id']}/comment", json={"comment": "y"}, headers=operator)
    ).status_code == 200

    bad = [
        {**RULE, "machine_id": "b-1"},  # both scopes
        {k: v for k, v in RULE.items() if k != "machine_type"},  # neither
        {**RULE, "on_delay_s": -1},
        {**RULE, "priority": "urgent"},
        {**RULE, "sensor": "Pressure Bar"},
        {**RULE, "threshold": "NaN"},
        {**RULE, "kind": "above"},
        {**RULE, "sensor": "flow_m3_h"},  # the type does not measure it
        {**RULE, "machine_type": "never_seen"},  # neither registered nor seen
        {**RULE, "name": "second hi"},  # the scope has a hi rule for this sensor already
        {**RULE, "kind": "lo", "threshold": 12.0},  # a lo above the hi would alarm all the time
        {**RULE, "kind": "hihi", "threshold": 8.0},  # a hihi below the hi
    ]
    for body in bad:
        r = await client.post("/api/v1/alarm-rules", json=body)
        assert r.status_code == 422, body
    detail = (await client.post("/api/v1/alarm-rules", json={**RULE, "sensor": "flow_m3_h"})).json()["detail"]
    assert "has no such sensor" in detail and "pressure_bar" in detail
    hihi = await client.post("/api/v1/alarm-rules", json={**RULE, "kind": "hihi", "threshold": 14.0})
    assert hihi.status_code == 201, hihi.text
    assert (
        await client.post(
            f"/api/v1/alarms/{one['id']}/shelve", json={"duration_s": 30 * 86400, "reason": "r"}
        )
    ).status_code == 422
    assert (
        await client.post(f"/api/v1/alarms/{one['id']}/shelve", json={"duration_s": 60, "reason": ""})
    ).status_code == 422
    assert (await client.post("/api/v1/alarms/ack", json={"ids": list(range(1, 600))})).status_code == 422
    assert (await client.get("/api/v1/alarms/0")).status_code == 422
    assert (await client.get("/api/v1/alarms/123456")).status_code == 404

    r = await client.put(
        f"/api/v1/alarm-rules/{rule['id']}", json={**RULE, "threshold": 12.0}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = await client.put(f"/api/v1/alarm-rules/{rule['id']}", json=RULE, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await client.delete(f"/api/v1/alarm-rules/{rule['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/alarm-rules/{rule['id']}")).status_code == 404


async def test_rule_preview_and_alarm_reports(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal flapping across 10 every second: the preview of a rule without a deadband shows it would
    chatter, with a deadband one alarm; once saved, the reports list the flapping alarm as chattering and as
    the most frequent."""
    values = [9.0, 11.0] * 10
    for k, v in enumerate(values):
        await send(app, [k], v, machine="flap-1")

    async def stored() -> bool:
        r = await client.get("/api/v1/twins/flap-1")
        return r.status_code == 200 and r.json()["ts"].startswith(
            (T0 + timedelta(seconds=19)).isoformat()[:19]
        )

    await eventually(stored, what="the readings stored")
    r = await client.post("/api/v1/alarm-rules/preview", json={"rule": RULE | {"deadband": 0.0}, "days": 1})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["machines"] >= 1 and p["readings"] >= 20
    assert p["alarms"] == 10 and p["chattering"] == 1
    assert p["per_machine"][0] == {"machine_id": "flap-1", "alarms": 10}
    assert p["episodes"][0]["cleared_at"] is not None
    calm = (await client.post("/api/v1/alarm-rules/preview", json={"rule": RULE | {"deadband": 3.0}})).json()
    assert calm["alarms"] == 1 and calm["chattering"] == 0
    named = {"rule": RULE, "machine_ids": ["nobody"]}
    assert (await client.post("/api/v1/alarm-rules/preview", json=named)).json()["alarms"] == 0
    monkeypatch.setattr("dtwin.alarms.service.MAX_PREVIEW_READINGS", 5)
    big = await client.post("/api/v1/alarm-rules/preview", json={"rule": RULE})
    assert big.status_code == 422 and "fewer days" in big.json()["detail"]
    assert (
        await client.post("/api/v1/alarm-rules/preview", json={"rule": RULE, "days": 31})
    ).status_code == 422

    await client.post("/api/v1/alarm-rules", json=RULE | {"deadband": 0.0})
    await app.state.alarm_stage.refresh_rules(force=True)
    for k, v in enumerate(values):
        await send(app, [100 + k], v, machine="flap-2")

    async def reported() -> dict[str, Any]:
        rep = (await client.get("/api/v1/alarms/reports", params={"hours": 2})).json()
        return rep if rep["raised"] >= 10 else {}

    rep = await eventually(reported, what="the flapping alarms in the reports")
    assert rep["frequent"][0] == {"machine_id": "flap-2", "condition": "hi:pressure_bar", "count": 10}
    assert rep["chattering"][0]["machine_id"] == "flap-2" and rep["chattering"][0]["max_in_60s"] >= 3
    assert rep["flood"]["flood_windows"] == 0  # 10 in 10 minutes is not a flood (more than 10 is)
    assert (await client.get("/api/v1/alarms/reports", params={"hours": 10_000})).status_code == 422
