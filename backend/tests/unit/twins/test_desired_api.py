"""Desired state over the API (embedded adapters): merge patch, If-Match, delta, command outcome."""

from datetime import UTC, datetime

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin_devkit.testing import eventually
from tests.factories.telemetry import report_pump

PATCH = {"content-type": "application/merge-patch+json"}


async def telemetry(app: FastAPI, client: httpx.AsyncClient, reported: dict[str, object]) -> None:
    await report_pump(app, client, reported)


async def test_merge_patch_if_match_delta_and_command_outcome(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await telemetry(app, client, {"mode": "on"})
    twin = await client.get("/api/v1/twins/pump-9")
    etag = twin.headers["etag"]
    assert etag == f'"{twin.json()["version"]}"'

    r = await client.patch(
        "/api/v1/twins/pump-9/desired",
        content=b'{"mode": "standby", "limits": {"max_c": 80}}',
        headers={**PATCH, "if-match": '"0"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["desired"] == {"mode": "standby", "limits": {"max_c": 80}}
    assert body["version"] == 1 and r.headers["etag"] == '"1"'
    assert body["delta"] == {"mode": "standby", "limits": {"max_c": 80}}
    assert body["command"]["status"] == "pending"
    assert (await client.get("/api/v1/twins/pump-9")).headers["etag"] != etag  # twin version moved on

    # the command went to Kafka twin.desired (here the in-process bus) with the device's address
    sent = app.state.adapters.bus.retained("twin.desired")
    cmd = orjson.loads(sent[-1].value)
    assert (cmd["site"], cmd["line"], cmd["version"], cmd["desired"]["mode"]) == ("s1", "l1", 1, "standby")

    stale = await client.patch(
        "/api/v1/twins/pump-9/desired", content=b'{"mode": "off"}', headers={**PATCH, "if-match": '"0"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert "current desired version 1" in stale.json()["detail"]

    r = await client.patch(
        "/api/v1/twins/pump-9/desired",
        content=b'{"limits": {"max_c": null}}',
        headers={**PATCH, "if-match": 'W/"1"'},
    )
    assert r.json()["desired"] == {"mode": "standby", "limits": {}}  # null deletes

    # telemetry (every second in real life) does not make an edit stale: If-Match is the desired version
    await telemetry(app, client, {"mode": "standby"})
    desired = (await client.get("/api/v1/twins/pump-9/desired")).json()
    assert desired["delta"] == {"limits": {}}  # mode converged; the empty object is not reported
    await app.state.adapters.bus.produce(
        "twin.acks",
        orjson.dumps(
            {
                "schema": 1,
                "machine_id": "pump-9",
                "version": 2,
                "status": "partial",
                "applied": {"mode": "standby"},
                "rejected": {"limits": "unknown setting 'limits'"},
                "ts": datetime.now(UTC).isoformat(),
            }
        ),
    )

    async def acked() -> dict[str, object]:
        cmd = (await client.get("/api/v1/twins/pump-9/desired")).json()["command"]
        return cmd if cmd["status"] == "partial" else {}

    command = await eventually(acked, what="ack recorded")
    assert command["rejected"] == {"limits": "unknown setting 'limits'"} and command["version"] == 2
    # an ack for an older command does not overwrite the newer outcome
    await app.state.adapters.bus.produce(
        "twin.acks",
        orjson.dumps(
            {
                "schema": 1,
                "machine_id": "pump-9",
                "version": 1,
                "status": "accepted",
                "ts": datetime.now(UTC).isoformat(),
            }
        ),
    )
    await telemetry(app, client, {"mode": "standby"})
    assert (await client.get("/api/v1/twins/pump-9/desired")).json()["command"]["status"] == "partial"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"[1, 2]", PATCH, 422),
        (b"{not json", PATCH, 422),
        (b'{"a": 1}', {"content-type": "text/plain"}, 415),
        (b'{"a": 1}', {**PATCH, "if-match": "abc"}, 400),
        (b'{"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}', PATCH, 422),
        (b'{"a": "' + b"x" * 20_000 + b'"}', PATCH, 422),
    ],
)
async def test_bad_desired_patches_are_4xx_problem_json(
    app: FastAPI, client: httpx.AsyncClient, body: bytes, headers: dict[str, str], status: int
) -> None:
    await telemetry(app, client, {})
    r = await client.patch("/api/v1/twins/pump-9/desired", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"]


async def test_patching_an_unknown_twin_is_404(client: httpx.AsyncClient) -> None:
    r = await client.patch("/api/v1/twins/ghost/desired", content=b'{"mode": "off"}', headers=PATCH)
    assert r.status_code == 404


async def test_create_annotate_filter_and_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/twins",
        json={
            "id": "press-1",
            "machine_type": "hydraulic_press",
            "site": "s2",
            "line": "l3",
            "attributes": {"serial": "HP-77"},
        },
    )
    assert r.status_code == 201 and r.headers["location"] == "/api/v1/twins/press-1"
    assert r.json()["status"] == "offline" and r.json()["attributes"] == {"serial": "HP-77"}
    dup = await client.post("/api/v1/twins", json={"id": "press-1"})
    assert dup.status_code == 409 and dup.headers["content-type"] == "application/problem+json"
    assert (await client.post("/api/v1/twins", json={"id": "bad id!"})).status_code == 422
    r = await client.put(
        "/api/v1/twins/press-1/attributes", json={"attributes": {"serial": "HP-78", "bay": 4}}
    )
    assert r.json()["attributes"] == {"serial": "HP-78", "bay": 4}
    await telemetry(app, client, {"mode": "on"})  # pump-9 reports, so it is online
    listed = (await client.get("/api/v1/twins", params={"status": "online"})).json()
    assert [t["id"] for t in listed["items"]] == ["pump-9"]
    by_attr = (await client.get("/api/v1/twins", params={"where": "attributes.bay>=4"})).json()
    assert [t["id"] for t in by_attr["items"]] == ["press-1"]
    both = (await client.get("/api/v1/twins", params={"limit": 1, "sort": "-id"})).json()
    assert both["count"] == 2 and both["items"][0]["id"] == "pump-9" and both["next_cursor"]
    rest = await client.get(
        "/api/v1/twins", params={"limit": 1, "sort": "-id", "cursor": both["next_cursor"]}
    )
    assert [t["id"] for t in rest.json()["items"]] == ["press-1"] and rest.json()["next_cursor"] is None
    bad = await client.get("/api/v1/twins", params={"where": "temperature>1"})
    assert bad.status_code == 422 and "reported.temperature_c>80" in bad.json()["detail"]
    assert (await client.delete("/api/v1/twins/press-1")).status_code == 204
    assert (await client.get("/api/v1/twins/press-1")).status_code == 404
    assert (await client.delete("/api/v1/twins/press-1")).status_code == 404


async def test_change_log_records_every_kind_of_change(app: FastAPI, client: httpx.AsyncClient) -> None:
    from dtwin.twins.events import TwinEventLog
    from dtwin.twins.service import TwinService
    from dtwin.twins.status import StatusWatcher
    from dtwin.twins.store import TwinStore

    await client.post("/api/v1/twins", json={"id": "pump-9", "site": "s1", "line": "l1"})
    await telemetry(app, client, {"mode": "on"})
    await client.put("/api/v1/twins/pump-9/attributes", json={"attributes": {"serial": "P9"}})
    await client.patch("/api/v1/twins/pump-9/desired", content=b'{"mode": "off"}', headers=PATCH)
    await app.state.adapters.bus.produce(
        "twin.acks",
        orjson.dumps(
            {
                "schema": 1,
                "machine_id": "pump-9",
                "version": 1,
                "status": "accepted",
                "applied": {"mode": "off"},
                "ts": datetime.now(UTC).isoformat(),
            }
        ),
    )
    adapters = app.state.adapters
    events = TwinEventLog(adapters.sessions)
    watcher = StatusWatcher(TwinService(TwinStore(adapters.redis, adapters.keys), events=events), events)
    await watcher.scan()
    assert await watcher.scan() == 0  # no change since: nothing recorded twice

    async def kinds() -> list[str]:
        items = (await client.get("/api/v1/twins/pump-9/events")).json()["items"]
        found = [i["kind"] for i in items]
        return found if "ack" in found and "status" in found else []

    found = await eventually(kinds, what="ack and status events")
    assert set(found) >= {"created", "reported", "attributes", "desired", "ack", "status"}
    items = (await client.get("/api/v1/twins/pump-9/events")).json()["items"]
    ids = [i["id"] for i in items]
    assert ids == sorted(ids, reverse=True)  # newest first
    desired = next(i for i in items if i["kind"] == "desired")
    assert desired["details"]["patch"] == {"mode": "off"} and desired["details"]["desired_version"] == 1
    status = next(i for i in items if i["kind"] == "status")
    assert status["details"]["to"] == "online"
    reported = next(i for i in items if i["kind"] == "reported")
    assert "speed_rpm" in reported["details"]["properties"]

    first = (await client.get("/api/v1/twins/pump-9/events", params={"limit": 2})).json()
    second = await client.get(
        "/api/v1/twins/pump-9/events", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [i["id"] for i in first["items"] + second.json()["items"]] == ids[:4]
    only = (await client.get("/api/v1/twins/pump-9/events", params={"kind": ["ack", "desired"]})).json()
    assert {i["kind"] for i in only["items"]} == {"ack", "desired"}
    await client.delete("/api/v1/twins/pump-9")
    after = (await client.get("/api/v1/twins/pump-9/events", params={"limit": 1})).json()
    assert after["items"][0]["kind"] == "deleted"  # the log outlives the twin
    assert (await client.get("/api/v1/twins/never/events")).status_code == 404


async def test_deleting_a_twin_clears_its_retained_desired_state(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await telemetry(app, client, {"mode": "on"})
    r = await client.patch("/api/v1/twins/pump-9/desired", content=b'{"mode": "standby"}', headers=PATCH)
    assert r.status_code == 200, r.text
    assert (await client.delete("/api/v1/twins/pump-9")).status_code == 204
    last = orjson.loads(app.state.adapters.bus.retained("twin.desired")[-1].value)
    assert (last["machine_id"], last["cleared"], last["version"]) == ("pump-9", True, 1)
    assert (last["site"], last["line"]) == ("s1", "l1")  # the bridge addresses the device's topic with them
