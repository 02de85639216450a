"""The auth room on real PostgreSQL: login, refresh rotation, reuse detection revoking the family, logout,
disabled users, API keys (create, use as Bearer and X-API-Key, last_used_at, revoke, expiry), admin-only
routes, and the `dtwin users` CLI against the configured database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from dtwin.auth.identity import Role
from dtwin.auth.models import RefreshTokenRow
from dtwin.auth.schemas import ApiKeyCreate, UserCreate
from dtwin.auth.service import AuthService, TokenSettings
from dtwin.cli import app as cli_app
from dtwin.config import get_settings
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.errors import Unauthorized

from ...conftest import TEST_JWT_SECRET


@pytest.fixture
def client(anon_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """This module handles credentials itself: its client sends none by default."""
    return anon_client


AUTH = "/api/v1/auth"
PASSWORD = "integration-pw-1"


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def token_settings() -> TokenSettings:
    return TokenSettings(TEST_JWT_SECRET, timedelta(minutes=15), timedelta(days=14))


@pytest.fixture
def service(sessions: async_sessionmaker[AsyncSession]) -> AuthService:
    return AuthService(sessions, token_settings())


async def make_user(service: AuthService, name: str, role: Role = Role.viewer) -> str:
    return (await service.create_user(UserCreate(username=name, password=PASSWORD, role=role))).id


async def login(c: httpx.AsyncClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = await c.post(f"{AUTH}/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_me_and_last_login(client: httpx.AsyncClient, service: AuthService, uid: str) -> None:
    await make_user(service, f"op-{uid}", Role.operator)
    pair = await login(client, f"op-{uid}")
    me = (await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))).json()
    assert me["kind"] == "user" and me["name"] == f"op-{uid}" and me["role"] == "operator"
    users = {u.username: u for u in await service.list_users()}
    assert users[f"op-{uid}"].last_login_at is not None


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, service: AuthService, uid: str
) -> None:
    await make_user(service, f"rot-{uid}")
    first = await login(client, f"rot-{uid}")
    r = await client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(f"{AUTH}/me", headers=bearer(second["access_token"]))).status_code == 200

    # the first token again: someone holds a copy -> 401 and the whole family is revoked
    reused = await client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.headers["www-authenticate"] == "Bearer"
    after = await client.post(f"{AUTH}/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401, after.text

    # another login of the same user (another family) is untouched
    other = await login(client, f"rot-{uid}")
    assert (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 200


async def test_logout_revokes_the_family(client: httpx.AsyncClient, service: AuthService, uid: str) -> None:
    await make_user(service, f"out-{uid}")
    first = await login(client, f"out-{uid}")
    second = (await client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})).json()
    r = await client.post(f"{AUTH}/logout", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 204
    assert (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": second["refresh_token"]})
    ).status_code == 401
    assert (await client.post(f"{AUTH}/logout", json={"refresh_token": "unknown"})).status_code == 204


async def test_expired_refresh_token_is_refused(
    sessions: async_sessionmaker[AsyncSession], service: AuthService, uid: str
) -> None:
    await make_user(service, f"exp-{uid}")
    pair = await service.login(f"exp-{uid}", PASSWORD)
    later = AuthService(sessions, token_settings(), clock=lambda: datetime.now(UTC) + timedelta(days=15))
    with pytest.raises(Unauthorized, match="expired"):
        await later.refresh(pair.refresh_token)


async def test_expired_refresh_tokens_are_pruned_at_the_next_login(
    sessions: async_sessionmaker[AsyncSession], service: AuthService, uid: str
) -> None:
    user_id = await make_user(service, f"prune-{uid}")
    pair = await service.login(f"prune-{uid}", PASSWORD)
    await service.refresh(pair.refresh_token)

    async def count() -> int:
        async with sessions() as s:
            q = select(func.count()).select_from(RefreshTokenRow).where(RefreshTokenRow.user_id == user_id)
            return int((await s.execute(q)).scalar_one())

    assert await count() == 2  # the used one stays for theft detection, and its successor
    later = AuthService(sessions, token_settings(), clock=lambda: datetime.now(UTC) + timedelta(days=15))
    await later.login(f"prune-{uid}", PASSWORD)
    assert await count() == 1  # only the new login's


async def test_disabled_user_loses_access_at_the_next_request(
    client: httpx.AsyncClient, service: AuthService, uid: str
) -> None:
    admin_id = await make_user(service, f"adm-{uid}", Role.admin)
    assert admin_id
    user_id = await make_user(service, f"dis-{uid}")
    admin = bearer((await login(client, f"adm-{uid}"))["access_token"])
    pair = await login(client, f"dis-{uid}")
    r = await client.patch(f"{AUTH}/users/{user_id}", json={"disabled": True}, headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is True, r.text

    assert (await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))).status_code == 401
    assert (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    r = await client.post(f"{AUTH}/token", data={"username": f"dis-{uid}", "password": PASSWORD})
    assert r.status_code == 401

    # a role change applies at the next request too
    viewer_id = await make_user(service, f"up-{uid}")
    viewer = bearer((await login(client, f"up-{uid}"))["access_token"])
    assert (await client.get(f"{AUTH}/users", headers=viewer)).status_code == 403
    await client.patch(f"{AUTH}/users/{viewer_id}", json={"role": "admin"}, headers=admin)
    assert (await client.get(f"{AUTH}/users", headers=viewer)).status_code == 200


async def test_api_key_lifecycle(client: httpx.AsyncClient, service: AuthService, uid: str) -> None:
    await make_user(service, f"keys-{uid}", Role.admin)
    admin = bearer((await login(client, f"keys-{uid}"))["access_token"])
    r = await client.post(
        f"{AUTH}/api-keys", json={"name": f"scada {uid}", "role": "operator"}, headers=admin
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith(created["prefix"]) and created["last_used_at"] is None

    for headers in (bearer(key), {"X-API-Key": key}):
        me = await client.get(f"{AUTH}/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json() == {
            "kind": "api_key",
            "id": created["id"],
            "name": f"scada {uid}",
            "role": "operator",
        }
    # an operator key is below admin
    assert (await client.get(f"{AUTH}/api-keys", headers={"X-API-Key": key})).status_code == 403

    listed = {k["id"]: k for k in (await client.get(f"{AUTH}/api-keys", headers=admin)).json()["items"]}
    assert "key" not in listed[created["id"]] and listed[created["id"]]["last_used_at"] is not None

    assert (await client.delete(f"{AUTH}/api-keys/{created['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"{AUTH}/me", headers={"X-API-Key": key})).status_code == 401
    assert (await client.delete(f"{AUTH}/api-keys/{'f' * 32}", headers=admin)).status_code == 404


async def test_api_key_expires(
    sessions: async_sessionmaker[AsyncSession], service: AuthService, uid: str
) -> None:
    admin_id = await make_user(service, f"kexp-{uid}", Role.admin)
    from dtwin.auth.identity import Identity

    by = Identity(kind="user", id=admin_id, name=f"kexp-{uid}", role=Role.admin)
    created = await service.create_api_key(
        ApiKeyCreate(name="short", expires_at=datetime.now(UTC) + timedelta(days=1)), by
    )
    assert (await service.authenticate(created.key)).role is Role.viewer
    later = AuthService(sessions, token_settings(), clock=lambda: datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(Unauthorized, match="expired"):
        await later.authenticate(created.key)


async def test_admin_routes_refuse_anonymous_and_lower_roles(
    client: httpx.AsyncClient, service: AuthService, uid: str
) -> None:
    await make_user(service, f"opr-{uid}", Role.operator)
    operator = bearer((await login(client, f"opr-{uid}"))["access_token"])
    for method, path in [("GET", "/users"), ("POST", "/users"), ("GET", "/api-keys"), ("POST", "/api-keys")]:
        assert (await client.request(method, f"{AUTH}{path}", json={})).status_code == 401
        assert (await client.request(method, f"{AUTH}{path}", json={}, headers=operator)).status_code == 403


def test_users_cli(pg_url: str, uid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTWIN_DATABASE_URL", pg_url)
    monkeypatch.setenv("DTWIN_AUTO_MIGRATE", "false")
    get_settings.cache_clear()
    runner = CliRunner()
    name = f"cli-{uid}"
    try:
        r = runner.invoke(cli_app, ["users", "create", name, "--role", "operator", "--password", PASSWORD])
        assert r.exit_code == 0, r.output
        assert PASSWORD not in r.output
        r = runner.invoke(cli_app, ["users", "create", name, "--password", PASSWORD])
        assert r.exit_code == 1 and "exists" in r.output
        r = runner.invoke(cli_app, ["users", "create", "Bad Name!", "--password", PASSWORD])
        assert r.exit_code == 2
        r = runner.invoke(cli_app, ["users", "set-role", name, "admin"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli_app, ["users", "disable", name])
        assert r.exit_code == 0, r.output
        line = next(ln for ln in runner.invoke(cli_app, ["users", "list"]).output.splitlines() if name in ln)
        assert "admin" in line and "disabled" in line
        assert runner.invoke(cli_app, ["users", "disable", f"nobody-{uid}"]).exit_code == 1
    finally:
        get_settings.cache_clear()
