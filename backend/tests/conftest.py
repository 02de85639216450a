"""Test session: marks by folder, real throwaway servers (started once per session, on free ports)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.servers import Server, ServerError, running

from .factories.auth import bearer, token_for
from .fixed_dates import FIXED_DATES_MAX_AGE_S

# apps built in this process come and go with each test: none may freeze the others' objects (gc.freeze());
# tests/unit/test_runtime.py tests the tuning itself, and the e2e suites' backend processes run with it
os.environ.setdefault("DTWIN_GC_TUNING", "false")

HERE = Path(__file__).parent
TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef"  # real mode requires one (auth/bootstrap.py)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).relative_to(HERE).parts[0]
        if rel in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, rel))


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, Server]]:
    """PostgreSQL, Redis, Mosquitto and Tansu started for this session on free ports."""
    try:
        with running() as started:
            yield started
    except ServerError as exc:
        pytest.fail(f"could not start a test server: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pg_url(servers: dict[str, Server]) -> str:
    url = os.environ.get("DTWIN_TEST_PG_DSN") or servers["postgres"].url
    from concurrent.futures import ThreadPoolExecutor

    from dtwin.core.migrate import upgrade_sync

    with ThreadPoolExecutor(1) as pool:  # Alembic runs its own event loop; never inside the test's loop
        pool.submit(upgrade_sync, url).result()
    return url


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def real_settings(servers: dict[str, Server], pg_url: str, uid: str) -> Settings:
    """Settings pointing at the real servers, with topics, group and Redis prefix unique to this test."""
    return Settings(
        kafka_bootstrap=servers["kafka"].url,
        redis_url=servers["redis"].url,
        database_url=pg_url,
        mqtt_url=servers["mosquitto"].url,
        topic_telemetry=f"telemetry.raw.{uid}",
        topic_dlq=f"telemetry.dlq.{uid}",
        consumer_group=f"dtwin-backend-{uid}",
        redis_prefix=f"t{uid}",
        auto_migrate=False,
        frontend_dist=None,
        consumer_poll_timeout_ms=100,
        models_dir=Path(f"/tmp/dtwin-models-{uid}"),
        max_age_s=FIXED_DATES_MAX_AGE_S,
        jwt_secret=TEST_JWT_SECRET,
        # the lifecycle (rollup refresh, partitions, archival) shares the session's database across tests:
        # its own tests turn it on over a database of their own (tests/integration/lifecycle)
        lifecycle_enabled=False,
        # the session's PostgreSQL is shared by every test, each with its own Redis prefix: a rebuild at
        # startup (no epoch marker in a fresh prefix) would bring every other test's twins into this one.
        # The tests of losing Redis turn it on (tests/integration/twins/test_rebuild.py, `make chaos`).
        auto_rebuild=False,
    )


@pytest.fixture
async def real_redis(servers: dict[str, Server]) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(servers["redis"].url)
    yield client
    await client.aclose()


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'dtwin.db'}",
        frontend_dist=None,
        consumer_poll_timeout_ms=50,
        models_dir=tmp_path / "models",
        max_age_s=FIXED_DATES_MAX_AGE_S,
    )


@pytest.fixture
async def app(app_settings: Settings) -> AsyncIterator[FastAPI]:
    """The app over `app_settings` (unit tests: embedded adapters; integration tests: the real servers),
    lifespan entered."""
    application = create_app(app_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` acting as the bootstrap admin (an access token in every request)."""
    token = await token_for(app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=bearer(token)
    ) as c:
        yield c


@pytest.fixture
async def anon_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` without credentials."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
