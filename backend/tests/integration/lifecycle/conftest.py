"""A database of its own per test (the lifecycle's watermark, partitions and archive are database-wide),
migrated to head, on the session's PostgreSQL; and helpers to fill it."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.migrate import upgrade
from dtwin.readings.service import ReadingTuple
from dtwin_devkit.servers import Server, start_s3


def _dsn(url: str) -> str:
    u = make_url(url)
    return f"postgresql://{u.username}@{u.host}:{u.port}/{u.database}"


async def fresh_database(pg_url: str, revision: str = "head") -> str:
    """A new, empty database on the session's server, migrated to `revision`; its SQLAlchemy URL."""
    name = f"lc_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    await upgrade(url, revision)
    return url


async def drop_database(pg_url: str, url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def lc_url(pg_url: str) -> AsyncIterator[str]:
    url = await fresh_database(pg_url)
    yield url
    await drop_database(pg_url, url)


@pytest.fixture
async def sessions(lc_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(lc_url, pool_size=4)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture(scope="session")
def s3() -> Iterator[Server]:
    server = start_s3()
    try:
        yield server
    finally:
        server.stop()


def readings(
    start: datetime,
    hours: float,
    *,
    machines: tuple[str, ...] = ("m-a", "m-b"),
    sensors: tuple[str, ...] = ("temp", "rpm"),
    every_s: float = 7.0,
    seed: int = 1,
    bad_share: float = 0.01,
) -> list[ReadingTuple]:
    """Readings every `every_s` (jittered) per machine and sensor, a few of quality bad."""
    rng = random.Random(seed)
    rows: list[ReadingTuple] = []
    t = 0.0
    while t < hours * 3600:
        ts = start + timedelta(seconds=t + rng.random() * every_s * 0.9)
        for m in machines:
            for s in sensors:
                quality = "bad" if rng.random() < bad_share else "good"
                rows.append((m, s, ts, round(rng.gauss(50, 10), 6), quality))
        t += every_s
    return rows


async def settle() -> None:
    await asyncio.sleep(0)
