"""The notifications API on the embedded app (SQLite, the built-in SMTP sink, the app's own dispatcher):
routing rules CRUD with the secret never read back, 422 naming the field for every invalid input, roles
(admins edit rules, viewers read the outbox, operators retry), a test email landing as an .eml file in the
data directory, and a dead webhook retried."""

from __future__ import annotations

import email
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dtwin.auth.identity import Role
from dtwin.config import Settings
from dtwin_devkit.testing import eventually

from ...factories.auth import bearer, token_for
from ...factories.notifications import Receiver, receiver

ROUTES = "/api/v1/notifications/routes"
OUTBOX = "/api/v1/notifications"
SECRET = "a-webhook-secret-of-32-characters"


@pytest.fixture
def app_settings(embedded_settings: Settings, tmp_path: Path) -> Settings:
    """Embedded mode with the data directory (and so the mail sink's files) in the test's own folder."""
    return embedded_settings.model_copy(update={"data_dir": tmp_path, "notify_poll_interval_s": 0.1})


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


def webhook(url: str = "https://hooks.plant.example/alarms", **fields: Any) -> dict[str, Any]:
    return {"name": "scada", "channel": "webhook", "targets": [url], **fields}


async def as_role(app: FastAPI, role: Role) -> dict[str, str]:
    return bearer(await token_for(app, role))


async def test_routes_crud_never_returns_the_secret(client: httpx.AsyncClient) -> None:
    body = webhook(
        secret=SECRET,
        min_priority="high",
        sites=["s1"],
        transitions=["raised", "acknowledged"],
        quiet_hours={"start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"},
        tier=1,
        escalate_after_s=900,
    )
    r = await client.post(ROUTES, json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"{ROUTES}/{created['id']}"
    assert SECRET not in r.text
    assert "secret" not in created
    assert created["has_secret"] is True
    assert created["quiet_hours"] == {"start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"}
    url = f"{ROUTES}/{created['id']}"
    listed = await client.get(ROUTES)
    assert SECRET not in listed.text
    assert [r["name"] for r in listed.json()["items"]] == ["scada"]
    # replacing without a secret keeps it; null removes it
    r = await client.put(url, json={**webhook(), "min_priority": "critical"})
    assert r.status_code == 200, r.text
    assert (r.json()["has_secret"], r.json()["min_priority"]) == (True, "critical")
    r = await client.put(url, json={**webhook(), "secret": None})
    assert r.json()["has_secret"] is False
    assert (await client.post(ROUTES, json=webhook())).status_code == 409
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "m", "channel": "email", "targets": ["not-an-address"]}, "targets"),
        ({"name": "m", "channel": "email", "targets": []}, "targets"),
        (webhook("http://hooks.plant.example/alarms"), "targets"),  # plain http off this machine
        (webhook("ftp://hooks.plant.example/alarms"), "targets"),
        (webhook(targets=["https://a.example/x", "https://b.example/y"]), "targets"),
        (webhook(escalate_after_s=-5), "escalate_after_s"),
        (webhook(escalate_after_s=0), "escalate_after_s"),
        (webhook(tier=0), "tier"),
        (webhook(min_priority="urgent"), "min_priority"),
        (webhook(transitions=["exploded"]), "transitions"),
        (webhook(transitions=[]), "transitions"),
        (webhook(sites=["bad site!"]), "sites"),
        (webhook(quiet_hours={"start": "22:00", "end": "6:00"}), "quiet_hours"),
        (webhook(quiet_hours={"start": "22:00", "end": "06:00", "timezone": "Mars/Olympus"}), "quiet_hours"),
        (webhook(quiet_hours={"start": "06:00", "end": "06:00"}), "quiet_hours"),
        (webhook(secret="short"), "secret"),
        ({"name": "m", "channel": "email", "targets": ["a@plant.example"], "secret": SECRET}, "secret"),
        (webhook(body_template="{message}"), "body_template"),
        ({"name": "m", "channel": "sms", "targets": ["https://sms.example/send"]}, None),  # no template
        (
            {
                "name": "m",
                "channel": "sms",
                "targets": ["https://sms.example/send"],
                "body_template": "{oops}",
            },
            "body_template",
        ),
        (webhook(channel="pager"), "channel"),
        (webhook(colour="red"), "colour"),
        (webhook(name=""), "name"),
    ],
)
async def test_invalid_rules_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str | None
) -> None:
    r = await client.post(ROUTES, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    locations = [e["loc"] for e in r.json()["errors"]]
    if field is None:
        assert locations == [["body"]], locations
    else:
        assert any(loc[:2] == ["body", field] for loc in locations), locations
    assert (await client.get(ROUTES)).json()["items"] == []


async def test_plain_http_is_allowed_to_this_machine(client: httpx.AsyncClient) -> None:
    for i, url in enumerate(["http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]:80/x"]):
        r = await client.post(ROUTES, json=webhook(url, name=f"local-{i}"))
        assert r.status_code == 201, r.text


async def test_roles(app: FastAPI, client: httpx.AsyncClient, anon_client: httpx.AsyncClient) -> None:
    viewer, operator = await as_role(app, Role.viewer), await as_role(app, Role.operator)
    for headers in (viewer, operator):
        assert (await anon_client.post(ROUTES, json=webhook(), headers=headers)).status_code == 403
        assert (await anon_client.get(ROUTES, headers=headers)).status_code == 403
    assert (await anon_client.get(OUTBOX, headers=viewer)).status_code == 200
    route = (await client.post(ROUTES, json=webhook())).json()
    assert (await anon_client.delete(f"{ROUTES}/{route['id']}", headers=operator)).status_code == 403
    assert (await anon_client.post(f"{ROUTES}/{route['id']}/test", headers=operator)).status_code == 403
    assert (await anon_client.post(f"{OUTBOX}/1/retry", headers=viewer)).status_code == 403
    assert (await anon_client.post(f"{OUTBOX}/1/retry", headers=operator)).status_code == 404
    assert (await anon_client.get(OUTBOX)).status_code == 401


async def test_a_test_email_lands_in_the_data_directory(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await client.post(
        ROUTES,
        json={"name": "mail", "channel": "email", "targets": ["ops@plant.example"], "min_priority": "high"},
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"{ROUTES}/{r.json()['id']}/test")
    assert r.status_code == 202, r.text
    sent = r.json()
    assert (sent["kind"], sent["status"], sent["channel"]) == ("test", "pending", "email")

    async def delivered() -> dict[str, Any] | None:
        got: dict[str, Any] = (await client.get(f"{OUTBOX}/{sent['id']}")).json()
        return got if got["status"] == "delivered" else None

    row = await eventually(delivered, what="the test email's delivery")
    (eml,) = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes())
    assert message["To"] == "ops@plant.example"
    assert message["X-Dtwin-Idempotency-Key"] == row["idempotency_key"]
    assert message["Subject"] == "[dtwin LOW] Test: test notification for route mail"
    listed = (await client.get(OUTBOX, params={"status": "delivered", "kind": "test"})).json()
    assert [n["id"] for n in listed["items"]] == [sent["id"]]


async def test_a_dead_webhook_is_retried_through_the_api(
    app: FastAPI, client: httpx.AsyncClient, hook: Receiver
) -> None:
    hook.script[:] = [404]  # refused for good: dead at the first attempt
    route = (await client.post(ROUTES, json=webhook(hook.url))).json()
    sent = (await client.post(f"{ROUTES}/{route['id']}/test")).json()

    async def status(wanted: str) -> dict[str, Any] | None:
        got: dict[str, Any] = (await client.get(f"{OUTBOX}/{sent['id']}")).json()
        return got if got["status"] == wanted else None

    dead = await eventually(lambda: status("dead"), what="the row's death")
    assert (dead["attempts"], dead["last_error"]) == (1, "HTTP 404 Not Found")
    assert [n["id"] for n in (await client.get(OUTBOX, params={"status": "dead"})).json()["items"]] == [
        sent["id"]
    ]
    operator = await as_role(app, Role.operator)
    r = await client.post(f"{OUTBOX}/{sent['id']}/retry", headers=operator)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    await eventually(lambda: status("delivered"), what="the retried delivery")
    assert [q.status for q in hook.requests] == [404, 200]
    assert len({q.headers["Idempotency-Key"] for q in hook.requests}) == 1
    r = await client.post(f"{OUTBOX}/{sent['id']}/retry")
    assert r.status_code == 409, r.text


async def test_the_outbox_pages_newest_first(client: httpx.AsyncClient) -> None:
    route = (await client.post(ROUTES, json=webhook(enabled=False))).json()
    ids = [(await client.post(f"{ROUTES}/{route['id']}/test")).json()["id"] for _ in range(5)]
    first = (await client.get(OUTBOX, params={"limit": 2, "route_id": route["id"]})).json()
    assert [n["id"] for n in first["items"]] == ids[::-1][:2]
    second = (await client.get(OUTBOX, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [n["id"] for n in second["items"]] == ids[::-1][2:4]
    for params in ({"status": "lost"}, {"alarm_id": -1}, {"cursor": "abc"}, {"kind": "x"}):
        assert (await client.get(OUTBOX, params=params)).status_code == 422, params
