"""The desired-state reconciler (embedded adapters): a command the device does not report is sent again after
`resend_after_s`, then with doubling waits up to `max_backoff_s`, by one process at a time, and no more once
the device reports the desired state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin.twins.reconcile import ReconcileConfig, Reconciler
from dtwin.twins.service import TwinService
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin

MACHINE = "pump-9"


@pytest.fixture
def app_settings(embedded_settings: Settings) -> Settings:
    # the app's own reconciler stays out of the way: these tests drive one with their own clock
    return embedded_settings.model_copy(update={"reconcile_enabled": False})


async def telemetry(app: FastAPI, client: httpx.AsyncClient, reported: dict[str, object]) -> None:
    before = (await client.get(f"/api/v1/twins/{MACHINE}")).json().get("version", 0)
    body = {
        "schema": 1,
        "machine_id": MACHINE,
        "machine_type": "centrifugal_pump",
        "site": "s1",
        "line": "l1",
        "ts": datetime.now(UTC).isoformat(),
        "readings": {"speed_rpm": 2900.0},
        "reported": reported,
    }
    await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=MACHINE.encode())

    async def applied() -> bool:
        r = await client.get(f"/api/v1/twins/{MACHINE}")
        return r.status_code == 200 and r.json()["version"] > before

    await eventually(applied, what="telemetry applied")


def sent(app: FastAPI) -> list[dict[str, Any]]:
    return [orjson.loads(m.value) for m in app.state.adapters.bus.retained("twin.desired")]


async def in_view(service: TwinService, delta: bool) -> None:
    """Wait until the process's read model (what the reconciler scans) shows the twin's delta (or none)."""

    async def shown() -> bool:
        twin = next((t for t in await service.fleet() if t["id"] == MACHINE), None)
        return twin is not None and twin["command"] is not None and bool(twin["delta"]) is delta

    await eventually(shown, what=f"read model with delta={delta}")


def reconciler(app: FastAPI, clock: list[float], owner: str = "a") -> Reconciler:
    return Reconciler(
        app.state.services.twins,
        app.state.adapters.redis,
        app.state.adapters.keys.reconciler_lease,
        ReconcileConfig(interval_s=1.0, resend_after_s=60.0, max_backoff_s=200.0, max_per_cycle=10),
        clock=lambda: clock[0],
        owner=owner,
    )


async def test_unreported_desired_state_is_resent_with_backoff_until_the_device_reports_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await telemetry(app, client, {"mode": "on"})
    r = await client.patch(f"/api/v1/twins/{MACHINE}/desired", json={"mode": "standby"})
    assert r.status_code == 200 and r.json()["command"]["status"] == "pending"
    issued = datetime.fromisoformat(r.json()["command"]["ts"]).timestamp()
    service: TwinService = app.state.services.twins
    await in_view(service, delta=True)
    assert len(sent(app)) == 1
    clock = [issued + 59.0]
    rec = reconciler(app, clock)

    assert await rec.cycle() == 0  # the device has a minute to answer and report
    clock[0] = issued + 61.0
    assert await rec.cycle() == 1
    again = sent(app)[-1]
    assert (again["machine_id"], again["site"], again["line"]) == (MACHINE, "s1", "l1")
    assert (again["version"], again["desired"]) == (1, {"mode": "standby"})  # same version, same document
    # then 120 s, 200 s (the cap), 200 s, ... after each re-send
    for wait in (120.0, 200.0, 200.0):
        start = clock[0]
        clock[0] = start + wait - 1.0
        assert await rec.cycle() == 0
        clock[0] = start + wait
        assert await rec.cycle() == 1
    assert len(sent(app)) == 5
    # another backend process does not reconcile while this one holds the lease
    assert await reconciler(app, clock, owner="b").cycle() == 0
    desired = (await client.get(f"/api/v1/twins/{MACHINE}/desired")).json()
    assert desired["command"]["status"] == "pending" and desired["version"] == 1  # resending is not a PATCH
    log = await client.get(f"/api/v1/twins/{MACHINE}/events", params={"kind": "desired_resent"})
    entries = log.json()["items"]
    assert len(entries) == 4 and {e["actor"] for e in entries} == {"system"}
    assert entries[0]["details"]["delta"] == {"mode": "standby"}

    await telemetry(app, client, {"mode": "standby"})  # the device reports the desired state
    await in_view(service, delta=False)
    clock[0] += 10_000.0
    assert await rec.cycle() == 0
    assert len(sent(app)) == 5


async def test_an_accepted_command_the_device_lost_is_resent_but_a_rejected_one_is_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await telemetry(app, client, {"mode": "on"})
    await client.patch(f"/api/v1/twins/{MACHINE}/desired", json={"mode": "standby"})
    service: TwinService = app.state.services.twins
    ack: dict[str, object] = {"schema": 1, "machine_id": MACHINE, "version": 1, "status": "accepted"}
    ack |= {"applied": {"mode": "standby"}, "ts": datetime.now(UTC).isoformat()}
    await app.state.adapters.bus.produce("twin.acks", orjson.dumps(ack), key=MACHINE.encode())

    async def accepted() -> dict[str, Any]:
        d = (await client.get(f"/api/v1/twins/{MACHINE}/desired")).json()
        return dict(d) if d["command"]["status"] == "accepted" else {}

    state = await eventually(accepted, what="ack recorded")
    # the device accepted, then came back at its defaults (`mode: on`): the delta stays
    assert state["delta"] == {"mode": "standby"}
    await app.state.adapters.bus.produce("twin.acks", orjson.dumps(ack), key=MACHINE.encode())  # twice
    await eventually(accepted, what="duplicate ack recorded")
    await in_view(service, delta=True)
    clock = [datetime.fromisoformat(state["command"]["ts"]).timestamp() + 61.0]
    rec = reconciler(app, clock)
    assert await rec.cycle() == 1
    assert sent(app)[-1]["version"] == 1

    refused = {**ack, "status": "rejected", "applied": {}, "rejected": {"mode": "locked"}}
    await app.state.adapters.bus.produce("twin.acks", orjson.dumps(refused), key=MACHINE.encode())

    async def rejected() -> bool:
        d = (await client.get(f"/api/v1/twins/{MACHINE}/desired")).json()
        return bool(d["command"]["status"] == "rejected")

    await eventually(rejected, what="rejection recorded")

    async def rejected_in_view() -> bool:
        twin = next(t for t in await service.fleet() if t["id"] == MACHINE)
        return bool(twin["command"]["status"] == "rejected")

    await eventually(rejected_in_view, what="rejection in the read model")
    clock[0] += 10_000.0
    assert await rec.cycle() == 0  # the device's word: the same document would be refused again


@pytest.fixture
async def fast_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        frontend_dist=None,
        consumer_poll_timeout_ms=50,
        models_dir=tmp_path / "models",
        reconcile_interval_s=0.05,
        reconcile_resend_after_s=0.2,
        reconcile_max_backoff_s=0.4,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_lifespan_runs_the_reconciler(fast_app: FastAPI) -> None:
    async with await as_admin(fast_app) as client:
        await telemetry(fast_app, client, {"mode": "on"})
        await client.patch(f"/api/v1/twins/{MACHINE}/desired", json={"mode": "off"})

        async def resent_twice() -> bool:
            return len(sent(fast_app)) >= 3

        await eventually(resent_twice, timeout=10, what="desired state re-sent by the background task")
    assert {(m["version"], m["desired"]["mode"]) for m in sent(fast_app)} == {(1, "off")}
