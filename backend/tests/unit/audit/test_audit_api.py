"""The audit trail on the embedded app (SQLite): who made each mutating call (an API key, a user, anonymous),
refused calls too (a failed login, with no password stored), the twin change log's actor, admins only on
GET /audit, filters and paging; the recorder drops (and counts) when its queue is full."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dtwin.audit.service import AuditRecorder, PendingEntry
from dtwin.auth.bootstrap import ADMIN_PASSWORD_FILE


@pytest.fixture
def client(anon_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """This module handles credentials itself: its client sends none by default."""
    return anon_client


AUTH = "/api/v1/auth"
AUDIT = "/api/v1/audit"
TWINS = "/api/v1/twins"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin_headers(c: httpx.AsyncClient, tmp_path: Path) -> dict[str, str]:
    password = (tmp_path / ADMIN_PASSWORD_FILE).read_text().strip()
    r = await c.post(f"{AUTH}/token", data={"username": "admin", "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def api_key(c: httpx.AsyncClient, admin: dict[str, str], name: str, role: str) -> dict[str, Any]:
    r = await c.post(f"{AUTH}/api-keys", json={"name": name, "role": role}, headers=admin)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def audit(app: FastAPI, c: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    recorder: AuditRecorder = app.state.audit
    await recorder.drained()
    r = await c.get(AUDIT, params=params, headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def create_twin(c: httpx.AsyncClient, machine_id: str, **headers: str) -> None:
    r = await c.post(
        TWINS, json={"id": machine_id, "machine_type": "press", "site": "s1", "line": "l1"}, headers=headers
    )
    assert r.status_code == 201, r.text


async def test_desired_patch_by_an_api_key_is_audited_with_the_key_and_logged_with_its_actor(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await admin_headers(client, tmp_path)
    key = await api_key(client, admin, "line-controller", "operator")
    await create_twin(client, "m-audit-1", **admin)
    r = await client.patch(
        f"{TWINS}/m-audit-1/desired",
        content=b'{"mode": "standby", "speed_rpm": 900}',
        headers={"Content-Type": "application/merge-patch+json", "X-API-Key": key["key"], "User-Agent": "ci"},
    )
    assert r.status_code == 200, r.text
    request_id = r.headers["x-request-id"]

    page = await audit(app, client, admin, machine_id="m-audit-1")
    patch, create = page["items"]  # newest first
    assert patch["method"] == "PATCH"
    assert patch["route"] == "/api/v1/twins/{machine_id}/desired"
    assert patch["path_params"] == {"machine_id": "m-audit-1"}
    assert patch["machine_id"] == "m-audit-1"
    assert (patch["actor_kind"], patch["actor_id"], patch["actor_name"]) == (
        "api_key",
        key["id"],
        "line-controller",
    )
    assert patch["status"] == 200
    assert patch["details"] == {"keys": ["mode", "speed_rpm"]}
    assert patch["request_id"] == request_id
    assert patch["user_agent"] == "ci"
    assert patch["client_ip"]
    assert (create["method"], create["actor_kind"], create["actor_name"]) == ("POST", "user", "admin")
    assert create["machine_id"] == "m-audit-1"

    events = (await client.get(f"{TWINS}/m-audit-1/events", headers=admin)).json()["items"]
    actors = {e["kind"]: e["actor"] for e in events}
    assert actors == {"desired": "api_key:line-controller", "created": "user:admin"}


async def test_failed_login_is_audited_as_401_without_the_password(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    secret = "Hunter2-not-the-password"
    r = await client.post(f"{AUTH}/token", data={"username": "admin", "password": secret})
    assert r.status_code == 401
    admin = await admin_headers(client, tmp_path)
    page = await audit(app, client, admin, status="4xx")
    [failed] = [e for e in page["items"] if e["route"] == "/api/v1/auth/token"]
    assert (failed["actor_kind"], failed["status"]) == ("anonymous", 401)
    assert failed["details"] == {"username": "admin"}
    assert secret not in json.dumps(failed)
    ok = await audit(app, client, admin, status="2xx")
    [login] = [e for e in ok["items"] if e["route"] == "/api/v1/auth/token"]
    assert (login["actor_kind"], login["actor_name"]) == ("user", "admin")
    assert login["actor_id"] == await app.state.auth.user_id_of("admin")


async def test_secrets_of_key_management_are_not_stored(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await admin_headers(client, tmp_path)
    key = await api_key(client, admin, "ingest", "viewer")
    r = await client.post(
        f"{AUTH}/users",
        json={"username": "olga", "password": "olga-password-1", "role": "viewer"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    page = await audit(app, client, admin, actor="admin")
    stored = json.dumps(page)
    assert key["key"] not in stored
    assert "olga-password-1" not in stored
    assert admin["Authorization"].split()[1] not in stored
    routes = [(e["method"], e["route"], e["actor_name"]) for e in page["items"]]
    assert ("POST", "/api/v1/auth/users", "admin") in routes
    assert ("POST", "/api/v1/auth/api-keys", "admin") in routes


async def test_refused_credentials_are_audited_as_anonymous(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await admin_headers(client, tmp_path)
    r = await client.delete("/api/v1/machine-types/no-such-type", headers=admin)
    assert r.status_code == 404, r.text
    r = await client.delete("/api/v1/machine-types/no-such-type", headers=bearer("garbage"))
    assert r.status_code == 401
    page = await audit(app, client, admin, method="DELETE")
    garbage, by_admin = page["items"]
    assert (by_admin["actor_kind"], by_admin["actor_name"], by_admin["status"]) == ("user", "admin", 404)
    assert by_admin["route"] == "/api/v1/machine-types/{name}"
    assert (garbage["actor_kind"], garbage["status"]) == ("anonymous", 401)
    assert garbage["details"] == {"credentials": "invalid"}


async def test_anonymous_calls_are_recorded_as_anonymous(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await client.post(TWINS, json={"id": "m-anon", "machine_type": "press", "site": "s1", "line": "l1"})
    assert r.status_code == 401, r.text
    assert (await client.delete(f"{TWINS}/m-anon")).status_code == 401
    admin = await admin_headers(client, tmp_path)
    page = await audit(app, client, admin, actor="anonymous")
    assert [(e["method"], e["status"], e["route"]) for e in page["items"]] == [
        ("DELETE", 401, "/api/v1/twins/{machine_id}"),
        ("POST", 401, "/api/v1/twins"),
    ]
    assert (await client.get(f"{TWINS}/m-anon", headers=admin)).status_code == 404


async def test_reads_are_not_audited(app: FastAPI, client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = await admin_headers(client, tmp_path)
    await client.get(TWINS)
    await client.get(f"{AUTH}/me", headers=admin)
    page = await audit(app, client, admin)
    assert {e["method"] for e in page["items"]} == {"POST"}  # the logins only


async def test_audit_is_for_admins_only(app: FastAPI, client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = await admin_headers(client, tmp_path)
    operator = await api_key(client, admin, "op", "operator")
    anonymous = await client.get(AUDIT)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    forbidden = await client.get(AUDIT, headers={"X-API-Key": operator["key"]})
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"


async def test_paging_and_filters(app: FastAPI, client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = await admin_headers(client, tmp_path)
    for i in range(5):
        await create_twin(client, f"m-page-{i}", **admin)
    await client.put(f"{TWINS}/m-page-0/attributes", json={"attributes": {"serial": "X1"}}, headers=admin)
    page1 = await audit(app, client, admin, method="POST", limit=3)
    assert len(page1["items"]) == 3 and page1["next_cursor"]
    page2 = await audit(app, client, admin, method="POST", limit=3, cursor=page1["next_cursor"])
    ids = [e["id"] for e in page1["items"] + page2["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert {e["method"] for e in page1["items"] + page2["items"]} == {"POST"}
    put = await audit(app, client, admin, method="PUT")
    assert [(e["machine_id"], e["details"]) for e in put["items"]] == [("m-page-0", {"keys": ["serial"]})]
    future = await audit(app, client, admin, **{"from": "2999-01-01T00:00:00Z"})
    assert future["items"] == []
    past = await audit(app, client, admin, to="2000-01-01T00:00:00Z")
    assert past["items"] == []
    assert (await audit(app, client, admin, status="5xx"))["items"] == []
    bad = await client.get(AUDIT, params={"cursor": "x"}, headers=admin)
    assert bad.status_code == 422


async def test_a_full_queue_drops_and_counts_instead_of_blocking(app: FastAPI) -> None:
    recorder = AuditRecorder(app.state.adapters.sessions, None, maxsize=2)
    entry = PendingEntry(
        ts=datetime.now(UTC),
        method="POST",
        route="/api/v1/x",
        path_params={},
        machine_id=None,
        status=200,
        client_ip=None,
        user_agent=None,
        request_id="r",
    )
    for _ in range(5):
        recorder.submit(entry)
    assert (recorder.queue.qsize(), recorder.dropped) == (2, 3)


async def test_a_failed_write_is_logged_not_raised(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    recorder: AuditRecorder = app.state.audit
    recorder.submit(
        PendingEntry(
            ts=datetime.now(UTC),
            method="POST",
            route="/api/v1/x" * 100,  # longer than the column: refused by PostgreSQL; SQLite stores it
            path_params={"x": object()},  # not JSON: the write fails everywhere
            machine_id=None,
            status=200,
            client_ip=None,
            user_agent=None,
            request_id="bad",
        )
    )
    await recorder.drained()
    assert recorder.failed == 1
    await create_twin(client, "m-after-failure", **await admin_headers(client, tmp_path))
    await recorder.drained()
    assert recorder.failed == 1
