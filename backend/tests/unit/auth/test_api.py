"""The auth API on the embedded app (SQLite): login, me, bad credentials as 401 problems with
WWW-Authenticate, admin-only routes, the generated JWT key and bootstrap admin in the state directory."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from dtwin.auth.bootstrap import ADMIN_PASSWORD_FILE, SECRET_FILE
from dtwin.config import Settings
from dtwin.main import create_app


@pytest.fixture
def client(anon_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """This module handles credentials itself: its client sends none by default."""
    return anon_client


AUTH = "/api/v1/auth"


async def login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post(f"{AUTH}/token", data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin_password(tmp_path: Path) -> str:
    return (tmp_path / ADMIN_PASSWORD_FILE).read_text().strip()


def assert_401(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["status"] == 401


async def test_embedded_mode_generates_the_key_and_the_admin_password_with_mode_0600(
    app: FastAPI, tmp_path: Path
) -> None:
    for name in (SECRET_FILE, ADMIN_PASSWORD_FILE):
        path = tmp_path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert len((tmp_path / SECRET_FILE).read_text()) >= 32


async def test_login_then_me(client: httpx.AsyncClient, tmp_path: Path) -> None:
    r = await login(client, "admin", admin_password(tmp_path))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert r.headers["cache-control"] == "no-store"
    me = await client.get(f"{AUTH}/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {"kind": "user", "id": me.json()["id"], "name": "admin", "role": "admin"}


async def test_login_takes_a_form_and_refuses_other_bodies_with_415(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await client.post(f"{AUTH}/token", json={"username": "admin", "password": admin_password(tmp_path)})
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "x-www-form-urlencoded" in r.json()["detail"]


async def test_wrong_password_and_unknown_user_are_the_same_401(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    wrong = await login(client, "admin", admin_password(tmp_path) + "x")
    unknown = await login(client, "nobody", "whatever-password")
    assert_401(wrong)
    assert_401(unknown)
    assert wrong.json()["detail"] == unknown.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer x"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer dtwin_unknownkey"},
        {"X-API-Key": "dtwin_unknownkey"},
        {"X-API-Key": "not-a-key"},
    ],
    ids=["none", "garbage", "alg-none", "basic", "unknown-key-bearer", "unknown-key-header", "garbage-key"],
)
async def test_bad_credentials_are_401_problems(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_401(await client.get(f"{AUTH}/me", headers=headers))


async def test_admin_routes_answer_401_anonymous_and_403_below_admin(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = bearer((await login(client, "admin", admin_password(tmp_path))).json()["access_token"])
    r = await client.post(
        f"{AUTH}/users",
        json={"username": "olga", "password": "operator-pw", "role": "operator"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    operator = bearer((await login(client, "olga", "operator-pw")).json()["access_token"])
    uid = r.json()["id"]
    for method, path, body in [
        ("GET", "/users", None),
        ("POST", "/users", {"username": "x1", "password": "password-1"}),
        ("PATCH", f"/users/{uid}", {"role": "admin"}),
        ("GET", "/api-keys", None),
        ("POST", "/api-keys", {"name": "k"}),
        ("DELETE", f"/api-keys/{'0' * 32}", None),
    ]:
        anonymous = await client.request(method, f"{AUTH}{path}", json=body)
        assert_401(anonymous)
        below = await client.request(method, f"{AUTH}{path}", json=body, headers=operator)
        assert below.status_code == 403, (method, path, below.text)
        assert below.headers["content-type"] == "application/problem+json"


async def test_the_last_enabled_admin_cannot_be_demoted(client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = bearer((await login(client, "admin", admin_password(tmp_path))).json()["access_token"])
    me = (await client.get(f"{AUTH}/me", headers=admin)).json()
    r = await client.patch(f"{AUTH}/users/{me['id']}", json={"disabled": True}, headers=admin)
    assert r.status_code == 409, r.text


@pytest.fixture
async def preset_app(embedded_settings: Settings) -> AsyncIterator[FastAPI]:
    settings = embedded_settings.model_copy(update={"bootstrap_admin_password": SecretStr("preset-admin-pw")})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_bootstrap_admin_password_from_settings_writes_no_file(
    preset_app: FastAPI, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=preset_app), base_url="http://t") as c:
        assert (await login(c, "admin", "preset-admin-pw")).status_code == 200
    assert not (tmp_path / ADMIN_PASSWORD_FILE).exists()


async def test_the_dashboard_refreshes_and_logs_out_with_the_http_only_cookie(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await login(client, "admin", admin_password(tmp_path))
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("dtwin_refresh=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/api/v1/auth" in cookie
    first = client.cookies["dtwin_refresh"]
    refreshed = await client.post(f"{AUTH}/refresh")  # no body: the cookie
    assert refreshed.status_code == 200, refreshed.text
    assert client.cookies["dtwin_refresh"] not in (first, None)  # rotated
    me = await client.get(f"{AUTH}/me", headers=bearer(refreshed.json()["access_token"]))
    assert me.json()["name"] == "admin"
    # the old cookie's token was used: presenting it again revokes the family
    stale = await client.post(f"{AUTH}/refresh", json={"refresh_token": first})
    assert_401(stale)
    dead = await client.post(f"{AUTH}/refresh")
    assert_401(dead)
    assert 'dtwin_refresh=""' in dead.headers["set-cookie"] and "Max-Age=0" in dead.headers["set-cookie"]
    assert "dtwin_refresh" not in client.cookies


async def test_logout_with_the_cookie_clears_it(client: httpx.AsyncClient, tmp_path: Path) -> None:
    await login(client, "admin", admin_password(tmp_path))
    out = await client.post(f"{AUTH}/logout")
    assert out.status_code == 204
    assert "dtwin_refresh" not in client.cookies
    assert_401(await client.post(f"{AUTH}/refresh"))
    assert (await client.post(f"{AUTH}/logout")).status_code == 204  # nothing to end: still fine
    bad_type = await client.post(f"{AUTH}/refresh", content=b"x", headers={"Content-Type": "text/plain"})
    assert bad_type.status_code == 415
