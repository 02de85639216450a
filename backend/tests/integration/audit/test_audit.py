"""The audit trail on real PostgreSQL (and Kafka, Redis): a desired-state change by an API key is in
/audit with the key and the machine and in the twin's change log with its actor; a failed login is a 401
entry with no password stored; anonymous calls; 403 for non-admins; filters and paging (migration 0007)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.audit.service import AuditRecorder
from dtwin.auth.identity import Role
from dtwin.auth.schemas import UserCreate
from dtwin.auth.service import AuthService, TokenSettings
from dtwin.core.db import create_engine, create_sessionmaker

from ...conftest import TEST_JWT_SECRET


@pytest.fixture
def client(anon_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """This module handles credentials itself: its client sends none by default."""
    return anon_client


AUTH = "/api/v1/auth"
AUDIT = "/api/v1/audit"
TWINS = "/api/v1/twins"
PASSWORD = "integration-pw-1"


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def user_headers(
    c: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], name: str, role: Role
) -> dict[str, str]:
    service = AuthService(sessions, TokenSettings(TEST_JWT_SECRET, timedelta(minutes=15), timedelta(days=1)))
    await service.create_user(UserCreate(username=name, password=PASSWORD, role=role))
    r = await c.post(f"{AUTH}/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def audit(app: FastAPI, c: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    recorder: AuditRecorder = app.state.audit
    await recorder.drained()
    r = await c.get(AUDIT, params=params, headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_audit_trail_on_postgresql(
    app: FastAPI, client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], uid: str
) -> None:
    admin = await user_headers(client, sessions, f"adm-{uid}", Role.admin)
    r = await client.post(
        f"{AUTH}/api-keys", json={"name": f"scada-{uid}", "role": "operator"}, headers=admin
    )
    assert r.status_code == 201, r.text
    key = r.json()
    machine = f"m-{uid}"
    r = await client.post(
        TWINS, json={"id": machine, "machine_type": "press", "site": "s", "line": "l"}, headers=admin
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"{TWINS}/{machine}/desired",
        content=b'{"mode": "standby"}',
        headers={"Content-Type": "application/merge-patch+json", "Authorization": f"Bearer {key['key']}"},
    )
    assert r.status_code == 200, r.text

    page = await audit(app, client, admin, machine_id=machine)
    patch, create = page["items"]
    assert (patch["method"], patch["route"], patch["status"]) == (
        "PATCH",
        "/api/v1/twins/{machine_id}/desired",
        200,
    )
    assert (patch["actor_kind"], patch["actor_id"], patch["actor_name"]) == (
        "api_key",
        key["id"],
        f"scada-{uid}",
    )
    assert patch["details"] == {"keys": ["mode"]}
    assert (create["actor_kind"], create["actor_name"], create["status"]) == ("user", f"adm-{uid}", 201)
    events = (await client.get(f"{TWINS}/{machine}/events", headers=admin)).json()["items"]
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("desired", f"api_key:scada-{uid}"),
        ("created", f"user:adm-{uid}"),
    ]

    # a failed login: 401, the name tried, never the password (not in any column of the row)
    secret = f"not-the-password-{uid}"
    r = await client.post(f"{AUTH}/token", data={"username": f"adm-{uid}", "password": secret})
    assert r.status_code == 401
    await app.state.audit.drained()
    async with sessions() as session:
        rows = (
            (
                await session.execute(
                    text("SELECT * FROM audit_log WHERE status = 401 AND details->>'username' = :u"),
                    {"u": f"adm-{uid}"},
                )
            )
            .mappings()
            .all()
        )
    assert len(rows) == 1
    assert rows[0]["route"] == "/api/v1/auth/token" and rows[0]["actor_kind"] == "anonymous"
    assert secret not in json.dumps({k: str(v) for k, v in rows[0].items()})

    # filters and paging
    mine = await audit(app, client, admin, actor=f"adm-{uid}", limit=1)
    assert len(mine["items"]) == 1 and mine["next_cursor"]
    older = await audit(app, client, admin, actor=f"adm-{uid}", limit=1, cursor=mine["next_cursor"])
    assert older["items"][0]["id"] < mine["items"][0]["id"]
    refused = await audit(app, client, admin, status="4xx", method="POST", limit=1000)
    assert any(e["details"].get("username") == f"adm-{uid}" for e in refused["items"])
    assert all(400 <= e["status"] < 500 for e in refused["items"])

    # not for operators
    r = await client.get(AUDIT, headers={"X-API-Key": key["key"]})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
