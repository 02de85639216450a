"""From telemetry to a person, on the embedded app: a threshold rule raises an alarm, whose notice the
alarms room writes into the notifications outbox in its own transaction; the app's dispatcher emails it
(the embedded SMTP sink's .eml file) and posts it to a webhook; the acknowledgement cancels the pending
escalation and reaches the webhook that asked for it."""

from __future__ import annotations

import email
import json
from collections.abc import AsyncIterator, Iterator
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
from ...factories.notifications import Receiver, receiver

T0 = datetime.now(UTC) - timedelta(minutes=10)
MACHINE = "boiler-7"
RULE = {
    "name": "drum pressure high",
    "machine_type": "test_boiler",
    "sensor": "pressure_bar",
    "kind": "hi",
    "threshold": 10.0,
    "priority": "high",
}


@pytest.fixture
async def app(embedded_settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = embedded_settings.model_copy(
        update={"data_dir": tmp_path, "alarm_rules_refresh_s": 0.05, "notify_poll_interval_s": 0.1}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await as_admin(app) as c:
        yield c


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


async def send(app: FastAPI, seconds: list[int], value: float) -> None:
    for s in seconds:
        body = {
            "schema": 1,
            "machine_id": MACHINE,
            "machine_type": "test_boiler",
            "site": "plant-a",
            "line": "line-1",
            "ts": (T0 + timedelta(seconds=s)).isoformat(),
            "readings": {"pressure_bar": value},
        }
        await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=MACHINE.encode())


async def test_an_alarm_reaches_email_and_webhook_and_its_acknowledgement_cancels_the_escalation(
    app: FastAPI, client: httpx.AsyncClient, hook: Receiver, tmp_path: Path
) -> None:
    routes = "/api/v1/notifications/routes"
    mail = {
        "name": "operators",
        "channel": "email",
        "targets": ["ops@plant.example"],
        "escalate_after_s": 3600,
    }
    assert (await client.post(routes, json=mail)).status_code == 201
    scada = {
        "name": "scada",
        "channel": "webhook",
        "targets": [hook.url],
        "sites": ["plant-a"],
        "transitions": ["raised", "acknowledged"],
    }
    assert (await client.post(routes, json=scada)).status_code == 201
    lead = {"name": "shift lead", "channel": "email", "targets": ["lead@plant.example"], "tier": 2}
    assert (await client.post(routes, json=lead)).status_code == 201
    await send(app, [-5], 5.0)  # the machine first (a rule's sensor must be one its scope measures)

    async def seen() -> bool:
        return (await client.get(f"/api/v1/twins/{MACHINE}")).status_code == 200

    await eventually(seen, what="the machine in the fleet")
    assert (await client.post("/api/v1/alarm-rules", json=RULE)).status_code == 201
    await app.state.alarm_stage.refresh_rules(force=True)

    await send(app, [0, 1], 12.5)

    async def raised() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await client.get("/api/v1/notifications")).json()["items"]
        return items if {n["status"] for n in items if n["kind"] == "notice"} == {"delivered"} else []

    outbox = await eventually(raised, what="the raised alarm's notifications delivered")
    by_route = {(n["kind"], n["tier"], n["channel"]): n for n in outbox}
    assert set(by_route) == {("notice", 1, "email"), ("notice", 1, "webhook"), ("escalation", 2, "email")}
    alarm_id = by_route[("notice", 1, "email")]["alarm_id"]
    (eml,) = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes())
    assert message["To"] == "ops@plant.example"
    assert message["Subject"].startswith("[dtwin HIGH] Raised: ")
    assert MACHINE in message["Subject"]
    (posted,) = hook.requests
    assert json.loads(posted.body)["notice"]["alarm_id"] == alarm_id

    r = await client.post(f"/api/v1/alarms/{alarm_id}/ack", json={"comment": "valve opened"})
    assert r.status_code == 200, r.text

    async def acknowledged() -> bool:
        return len(hook.requests) == 2

    await eventually(acknowledged, what="the acknowledgement at the webhook")
    notice = json.loads(hook.requests[1].body)["notice"]
    assert (notice["transition"], notice["comment"], notice["actor"]) == (
        "acknowledged",
        "valve opened",
        "user:admin",
    )
    escalation = (await client.get("/api/v1/notifications", params={"kind": "escalation"})).json()["items"]
    assert [(n["status"], n["last_error"]) for n in escalation] == [("cancelled", "alarm acknowledged")]
