"""Rate limits on the embedded app (memory storage): the login class (per IP, per IP and user name, failed
logins per user name), reads and writes counted apart, one window per identity, 429 problems with
Retry-After and the RateLimit headers, unlimited health checks, limits switched off, and fail-open when the
storage fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from limits.aio.storage import MemoryStorage

from dtwin.auth.bootstrap import ADMIN_PASSWORD_FILE
from dtwin.config import Settings
from dtwin.core.ratelimit import RateLimiter, RouteClass
from dtwin.main import create_app

from ...factories.auth import as_admin

AUTH = "/api/v1/auth"


@pytest.fixture
def limits() -> dict[str, Any]:
    return {}


@pytest.fixture
async def client(embedded_settings: Settings, limits: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(embedded_settings.model_copy(update=limits))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        yield c


def admin_password(tmp_path: Path) -> str:
    return (tmp_path / ADMIN_PASSWORD_FILE).read_text().strip()


async def login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post(f"{AUTH}/token", data={"username": username, "password": password})


async def token(c: httpx.AsyncClient, tmp_path: Path) -> dict[str, str]:
    r = await login(c, "admin", admin_password(tmp_path))
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def assert_429(r: httpx.Response, limit: int) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 429 and body["title"] == "Too many requests"
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    assert r.headers["ratelimit-limit"] == str(limit)
    assert r.headers["ratelimit-remaining"] == "0"
    assert 0 <= int(r.headers["ratelimit-reset"]) <= 3600


async def test_the_eleventh_login_in_a_minute_gets_429(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await login(client, "admin", "wrong-password")).status_code == 401
    assert_429(await login(client, "admin", "wrong-password"), 10)


async def test_login_limit_counts_per_address_whatever_the_user_name(client: httpx.AsyncClient) -> None:
    for i in range(10):
        assert (await login(client, f"nobody{i}", "pw")).status_code == 401
    assert_429(await login(client, "someone-else", "pw"), 10)


@pytest.mark.parametrize("limits", [{"rate_limit_refresh": "4/minute"}])
async def test_refresh_has_its_own_class_per_address(client: httpx.AsyncClient, tmp_path: Path) -> None:
    for _ in range(4):
        r = await client.post(f"{AUTH}/refresh", json={"refresh_token": "x" * 43})
        assert r.status_code == 401, r.text
    assert_429(await client.post(f"{AUTH}/refresh", json={"refresh_token": "x" * 43}), 4)
    assert (await login(client, "admin", admin_password(tmp_path))).status_code == 200  # logins: their own


@pytest.mark.parametrize(
    "limits", [{"rate_limit_login": "100/minute", "rate_limit_login_failures": "3/hour"}]
)
async def test_repeated_failures_for_one_user_name_block_its_logins(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    for _ in range(3):
        assert (await login(client, "admin", "wrong-password")).status_code == 401
    # the right password does not help while the failures fill the window; other names are not affected
    assert_429(await login(client, "admin", admin_password(tmp_path)), 3)
    assert (await login(client, "operator", "pw")).status_code == 401


@pytest.mark.parametrize(
    "limits", [{"rate_limit_login": "100/minute", "rate_limit_login_failures": "2/hour"}]
)
async def test_successful_logins_do_not_count_as_failures(client: httpx.AsyncClient, tmp_path: Path) -> None:
    for _ in range(4):
        assert (await login(client, "admin", admin_password(tmp_path))).status_code == 200


@pytest.mark.parametrize("limits", [{"rate_limit_read": "3/minute"}])
async def test_each_identity_has_its_own_window(client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = await token(client, tmp_path)
    remaining = []
    for _ in range(3):
        r = await client.get("/api/v1/twins", headers=admin)
        assert r.status_code == 200, r.text
        assert r.headers["ratelimit-limit"] == "3"
        remaining.append(int(r.headers["ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    assert_429(await client.get("/api/v1/twins", headers=admin), 3)
    # the same address without credentials, or with invalid ones, is another window (the address's): 401
    assert (await client.get("/api/v1/twins")).status_code == 401
    assert (await client.get("/api/v1/twins", headers={"Authorization": "Bearer garbage"})).status_code == 401
    # a second user, from the same address, has a window of its own
    created = await client.post(
        f"{AUTH}/users",
        headers=admin,
        json={"username": "viewer1", "password": "viewer-pw-123", "role": "viewer"},
    )
    assert created.status_code == 201, created.text
    r = await login(client, "viewer1", "viewer-pw-123")
    viewer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/api/v1/twins", headers=viewer)).status_code == 200


@pytest.mark.parametrize("limits", [{"rate_limit_read": "5/minute", "rate_limit_write": "2/minute"}])
async def test_writes_and_reads_are_counted_apart(client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = await token(client, tmp_path)
    for _ in range(2):
        assert (await client.post("/api/v1/twins", json={}, headers=admin)).status_code == 422
    assert_429(await client.post("/api/v1/twins", json={}, headers=admin), 2)
    assert_429(await client.delete("/api/v1/twins/m-1", headers=admin), 2)
    r = await client.get("/api/v1/twins", headers=admin)
    assert r.status_code == 200 and r.headers["ratelimit-limit"] == "5"


@pytest.mark.parametrize("limits", [{"rate_limit_read": "1/minute"}])
async def test_health_checks_are_not_limited(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        r = await client.get("/healthz")
        assert r.status_code == 200 and "ratelimit-limit" not in r.headers
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize("limits", [{"rate_limit_enabled": False, "rate_limit_read": "1/minute"}])
async def test_limits_switched_off(client: httpx.AsyncClient, tmp_path: Path) -> None:
    admin = await token(client, tmp_path)
    for _ in range(3):
        r = await client.get("/api/v1/twins", headers=admin)
        assert r.status_code == 200 and "ratelimit-limit" not in r.headers


async def test_every_limited_operation_documents_429(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [(p, m, op) for p, ops in paths.items() if p.startswith("/api/v1/") for m, op in ops.items()]
    assert operations
    for path, method, op in operations:
        assert "429" in op["responses"], (method, path)


class FailingStorage(MemoryStorage):
    async def acquire_sliding_window_entry(self, *args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("storage down")

    async def acquire_entry(self, *args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("storage down")

    async def get_moving_window(self, *args: Any, **kwargs: Any) -> tuple[float, int]:
        raise ConnectionError("storage down")


async def test_a_failing_storage_lets_requests_through(embedded_settings: Settings) -> None:
    limiter = RateLimiter(
        embedded_settings.model_copy(update={"rate_limit_read": "1/minute"}), FailingStorage()
    )
    assert await limiter.hit(RouteClass.read, "ip:1.2.3.4") is None
    assert await limiter.hit(RouteClass.read, "ip:1.2.3.4") is None
    assert limiter.failing


async def test_the_app_answers_while_the_storage_fails(embedded_settings: Settings) -> None:
    app: FastAPI = create_app(embedded_settings.model_copy(update={"rate_limit_read": "1/minute"}))
    async with (
        app.router.lifespan_context(app),
        await as_admin(app) as c,
    ):
        app.state.rate_limiter = RateLimiter(app.state.adapters.settings, FailingStorage())
        for _ in range(3):
            r = await c.get("/api/v1/twins")
            assert r.status_code == 200 and "ratelimit-limit" not in r.headers
