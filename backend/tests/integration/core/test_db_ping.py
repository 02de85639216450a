"""Pooled connections are pinged before use only after sitting idle (dtwin.core.db.ping_when_idle), and one
that died while idle is replaced before a statement reaches it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dtwin.core import db
from dtwin.core.db import create_engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_back_moments_ago_is_not_pinged(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=1)
    calls: list[object] = []
    real = engine.dialect.do_ping
    engine.dialect.do_ping = lambda c: calls.append(c) or real(c)  # type: ignore[method-assign]
    try:
        first = await _backend_pid(engine)
        for _ in range(5):
            assert await _backend_pid(engine) == first  # the same pooled connection, reused
        assert calls == []
    finally:
        await engine.dispose()


async def test_an_idle_connection_that_died_is_replaced_before_use(pg_url: str) -> None:
    engine = create_async_engine(pg_url, pool_size=1)
    db.ping_when_idle(engine, after_s=0.2)
    calls: list[object] = []
    real = engine.dialect.do_ping
    engine.dialect.do_ping = lambda c: calls.append(c) or real(c)  # type: ignore[method-assign]
    other = create_engine(pg_url, pool_size=1)
    try:
        dead = await _backend_pid(engine)
        async with other.connect() as conn:  # the server drops the pooled connection while it is idle
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
        await asyncio.sleep(0.3)
        # the first statement after the idle spell runs on a new connection, with no error
        assert await _backend_pid(engine) != dead
        assert len(calls) == 1
    finally:
        await engine.dispose()
        await other.dispose()
