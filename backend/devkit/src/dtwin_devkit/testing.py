"""Test helpers shared by the backend and data-pipeline suites (and the benchmark)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from dtwin.auth import tokens
from dtwin.auth.bootstrap import build_auth_service
from dtwin.auth.identity import Role
from dtwin.auth.schemas import UserCreate
from dtwin.auth.service import AuthService
from dtwin.cli import server_options
from dtwin.config import Settings
from dtwin.errors import Conflict, NotFound
from dtwin_devkit.servers import free_port

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns a truthy value or raises nothing falsy; fail with its last state."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = await check()
            if result:
                return result
            last = result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last: {last!r}")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serve_app(
    app: FastAPI, port: int | None = None, ws_compression: bool = False
) -> AsyncIterator[str]:
    """Run an app under a real uvicorn server (HTTP + WebSocket) on a free port, as `dtwin serve` runs it
    (`ws_compression`: its DTWIN_WS_COMPRESSION); yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, **server_options("127.0.0.1", port, ws_compression)))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited during startup")
            await asyncio.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def read_topic(bootstrap: str, topic: str, *, at_least: int, timeout: float = 20.0) -> list[object]:
    """Read a Kafka topic from the beginning (no consumer group) until `at_least` records arrived."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        parts: set[int] | None = None
        while not parts:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.2)
                if time.monotonic() > deadline:
                    raise AssertionError(f"topic {topic} not found")
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[object] = []
        while len(records) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {len(records)} of {at_least} records on {topic} within {timeout} s"
                )
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


# ------------------------------------------------------------------ credentials

TEST_PASSWORD = "test-password-0123"  # noqa: S105 - users the tests and benches create


async def _user(service: AuthService, username: str, role: Role) -> str:
    """The id of `username`, created with `role` and TEST_PASSWORD if it does not exist yet."""
    try:
        return await service.user_id_of(username)
    except NotFound:
        pass
    try:
        return (
            await service.create_user(UserCreate(username=username, password=TEST_PASSWORD, role=role))
        ).id
    except Conflict:  # created meanwhile
        return await service.user_id_of(username)


async def mint_token(service: AuthService, role: Role | None = None, ttl: timedelta | None = None) -> str:
    """An access token of the bootstrap admin (no role, or admin) or of the user `test-<role>` (created),
    minted directly: no password hashing per test."""
    if role is None or role is Role.admin:
        user_id, role = await service.user_id_of("admin"), Role.admin
    else:
        user_id = await _user(service, f"test-{role.value}", role)
    ts = service.token_settings
    return tokens.encode_access(
        ts.secret, sub=user_id, role=role, now=datetime.now(UTC), ttl=ttl or ts.access_ttl
    )


async def token_from_settings(
    settings: Settings, role: Role | None = None, ttl: timedelta | None = None
) -> str:
    """`mint_token` for any app over `settings` (its database and JWT key), for tests and benches that run
    backends themselves; creates `admin` first in a database without users."""
    engine = create_async_engine(settings.database_url)
    try:
        service = build_auth_service(settings, async_sessionmaker(engine, expire_on_commit=False))
        await service.ensure_admin(TEST_PASSWORD)
        return await mint_token(service, role, ttl)
    finally:
        await engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
