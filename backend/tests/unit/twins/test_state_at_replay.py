"""`GET /twins/{id}/at` against the live twin (embedded adapters): a recorded sequence of telemetry (readings and
reported settings, one late message), attribute changes, desired patches and device acks is driven through
the platform; the live twin is read after each step, with the instant; afterwards the twin as of each instant
is asked for and every field compared with what the live twin showed then."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.contracts.telemetry import iso_utc
from dtwin_devkit.testing import eventually

MACHINE = "press-7"
TWIN = f"/api/v1/twins/{MACHINE}"
PATCH = {"content-type": "application/merge-patch+json"}


@dataclass
class Snapshot:
    name: str
    at: datetime
    twin: dict[str, Any]


async def telemetry(
    app: FastAPI,
    client: httpx.AsyncClient,
    readings: dict[str, float],
    reported: dict[str, Any],
    *,
    late: tuple[datetime, datetime] | None = None,
) -> datetime:
    """One message stamped now (to the millisecond, as the twin keeps times), or (late data) between the
    two times of `late`; waited for until stored and applied. Returns its device time."""
    # device times are kept to the millisecond: a message stamped in the millisecond of the instant recorded
    # just before would be, by its device time, part of the twin at that instant (though not yet received)
    await asyncio.sleep(0.002)
    ts = datetime.fromisoformat(
        iso_utc(datetime.now(UTC) if late is None else late[0] + (late[1] - late[0]) / 2)
    )
    assert late is None or late[0] < ts < late[1]
    body = {
        "schema": 1,
        "machine_id": MACHINE,
        "machine_type": "press",
        "site": "s1",
        "line": "l1",
        "ts": ts.isoformat(),
        "readings": readings,
        "reported": reported,
    }
    await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=MACHINE.encode())
    window = {"from": ts.isoformat(), "to": ts.isoformat()}

    async def applied() -> bool:
        stored = (await client.get(f"{TWIN}/readings", params=window)).json()["items"]
        twin = (await client.get(TWIN)).json()
        # the twin is updated after the rows are stored: wait for both (a late message changes no twin)
        return bool(stored) and (late is not None or datetime.fromisoformat(twin["ts"]) >= ts)

    await eventually(applied, what="telemetry stored and applied")
    return ts


async def ack(app: FastAPI, client: httpx.AsyncClient, version: int, status: str, **answer: Any) -> None:
    """A device's answer on Kafka `twin.acks` (the path devices use, via the bridge), waited for."""
    body = {"schema": 1, "machine_id": MACHINE, "version": version, "status": status, **answer}
    body["ts"] = datetime.now(UTC).isoformat()
    await app.state.adapters.bus.produce("twin.acks", orjson.dumps(body), key=MACHINE.encode())

    async def recorded() -> bool:
        cmd = (await client.get(TWIN)).json()["command"]
        return bool(cmd and cmd["version"] == version and cmd["status"] == status)

    await eventually(recorded, what=f"ack {version} recorded")


async def snapshot(client: httpx.AsyncClient, name: str, machine: str = MACHINE) -> Snapshot:
    r = await client.get(f"/api/v1/twins/{machine}")
    assert r.status_code == 200, r.text
    return Snapshot(name, datetime.now(UTC), r.json())


def when(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)


def differences(snap: Snapshot, at: dict[str, Any]) -> list[str]:
    """Every field of the reconstruction that differs from the live twin at the snapshot's instant."""
    live = snap.twin
    pairs: dict[str, tuple[Any, Any]] = {
        "readings": ({k: v["value"] for k, v in at["readings"].items()}, live["readings"]),
        "reported": (at["reported"], live["reported"]),
        "desired": (at["desired"], live["desired"]),
        "desired_version": (at["desired_version"], live["desired_version"]),
        "attributes": (at["attributes"], live["attributes"]),
        "status": (at["status"], live["status"]),
    }
    cmd, live_cmd = at["command"], live["command"]
    pairs["command"] = (
        cmd and {**cmd, "ts": when(cmd["ts"])},
        live_cmd and {**live_cmd, "ts": when(live_cmd["ts"])},
    )
    return [f"{snap.name}.{k}: {got!r} != live {want!r}" for k, (got, want) in pairs.items() if got != want]


async def settled(client: httpx.AsyncClient, kind: str, n: int) -> None:
    """Wait until the change log holds `n` entries of `kind` (written after the live twin changes)."""

    async def logged() -> bool:
        items = (await client.get(f"{TWIN}/events", params={"kind": kind})).json()["items"]
        return len(items) >= n

    await eventually(logged, what=f"{n} {kind} entries")


@pytest.mark.slow  # waits out the online window once (5 s) for a `stale` snapshot
async def test_the_twin_at_each_recorded_instant_is_the_twin_shown_live(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = datetime.now(UTC)
    r = await client.post(
        "/api/v1/twins",
        json={
            "id": MACHINE,
            "machine_type": "press",
            "site": "s1",
            "line": "l1",
            "attributes": {"serial": "A1"},
        },
    )
    assert r.status_code == 201, r.text
    snaps = [await snapshot(client, "registered")]

    await telemetry(app, client, {"pressure_bar": 1.0, "temp_c": 20.0}, {"mode": "on", "speed": 1000})
    snaps.append(await snapshot(client, "first_telemetry"))

    r = await client.patch(f"{TWIN}/desired", content=b'{"mode": "standby"}', headers=PATCH)
    assert r.status_code == 200, r.text
    snaps.append(await snapshot(client, "desired_1_pending"))

    await ack(app, client, 1, "accepted", applied={"mode": "standby"})
    newest = await telemetry(app, client, {"pressure_bar": 2.0}, {"mode": "standby", "speed": 1000})
    snaps.append(await snapshot(client, "desired_1_accepted"))

    # late data: older than what the twin has (yet newer than the instant recorded before that: a message
    # stamped before an instant but received after it is in the past of that instant by its device time,
    # not in the twin shown then); the twin keeps its newer values, and so must the past
    late = (snaps[-2].at, newest)
    await telemetry(app, client, {"pressure_bar": 9.0}, {"mode": "off"}, late=late)
    snaps.append(await snapshot(client, "after_late_message"))

    r = await client.put(f"{TWIN}/attributes", json={"attributes": {"serial": "A2", "bay": 4}})
    assert r.status_code == 200, r.text
    snaps.append(await snapshot(client, "attributes_replaced"))

    r = await client.patch(f"{TWIN}/desired", content=b'{"speed": 900}', headers={**PATCH, "if-match": '"1"'})
    assert r.status_code == 200, r.text
    await ack(app, client, 2, "partial", applied={}, rejected={"speed": "out of range"})
    snaps.append(await snapshot(client, "desired_2_partial"))

    await telemetry(app, client, {"temp_c": 21.0}, {"mode": "standby", "speed": 1100})
    snaps.append(await snapshot(client, "speed_changed_locally"))

    await asyncio.sleep(6.5)  # nothing heard for longer than the online window (3 intervals, at least 5 s)
    snaps.append(await snapshot(client, "gone_quiet"))
    assert snaps[-1].twin["status"] == "stale" and snaps[-2].twin["status"] == "online"

    await settled(client, "ack", 2)
    await settled(client, "settings", 3)  # mode+speed, mode, speed: the late "off" was never the twin's

    problems: list[str] = []
    seen: list[tuple[Any, ...]] = []
    for snap in snaps:
        r = await client.get(f"{TWIN}/at", params={"ts": snap.at.isoformat()})
        assert r.status_code == 200, f"{snap.name}: {r.text}"
        at = r.json()
        problems += differences(snap, at)
        assert at["reported_inexact"] == []
        assert at["since"] is not None and datetime.fromisoformat(at["since"]) >= created
        seen.append(
            (at["desired_version"], at["status"], orjson.dumps(at["reported"]), at["attributes"]["serial"])
        )
    assert not problems, "\n".join(problems)
    assert len(set(seen)) >= 6, "the instants must show different twins for the comparison to mean something"

    before = await client.get(f"{TWIN}/at", params={"ts": (created - timedelta(minutes=5)).isoformat()})
    assert before.status_code == 404 and "did not exist" in before.json()["detail"]
    future = await client.get(
        f"{TWIN}/at", params={"ts": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    )
    assert future.status_code == 422 and "future" in future.json()["detail"]


async def test_a_command_waiting_for_placement_is_reconstructed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    r = await client.post("/api/v1/twins", json={"id": "press-8", "machine_type": "press"})
    assert r.status_code == 201, r.text
    r = await client.patch("/api/v1/twins/press-8/desired", content=b'{"mode": "off"}', headers=PATCH)
    assert r.status_code == 200, r.text
    snap = await snapshot(client, "awaiting", "press-8")
    assert snap.twin["command"]["status"] == "awaiting_placement"

    async def logged() -> dict[str, Any]:
        r = await client.get("/api/v1/twins/press-8/at", params={"ts": snap.at.isoformat()})
        body: dict[str, Any] = r.json()
        return body if body["command"]["status"] == "awaiting_placement" else {}

    at = await eventually(logged, what="the command entry")
    assert differences(snap, at) == []
    assert at["status"] == "offline" and at["last_heard"] is None and at["readings"] == {}
    assert at["analytics"] == {"anomaly": None, "decision": None}
