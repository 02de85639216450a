"""`dtwin audit prune --before`: deletes the entries older than the instant, keeps the rest (SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from dtwin.audit.models import AuditRow
from dtwin.audit.repository import AuditRepository
from dtwin.cli import app as cli_app
from dtwin.config import get_settings
from dtwin.core import migrate
from dtwin.core.db import create_engine, create_sessionmaker, transaction


def row(ts: datetime, request_id: str) -> dict[str, object]:
    return {
        "ts": ts,
        "actor_kind": "anonymous",
        "actor_id": None,
        "actor_name": "anonymous",
        "method": "POST",
        "route": "/api/v1/twins",
        "path_params": {},
        "machine_id": None,
        "status": 201,
        "client_ip": None,
        "user_agent": None,
        "request_id": request_id,
        "details": {},
    }


async def _seed(url: str) -> None:
    await migrate.upgrade(url)
    engine = create_engine(url)
    async with transaction(create_sessionmaker(engine)) as session:
        await AuditRepository(session).add_many(
            [row(datetime(2026, 1, 1, tzinfo=UTC), "old"), row(datetime(2026, 6, 1, tzinfo=UTC), "new")]
        )
    await engine.dispose()


async def _left(url: str) -> list[str]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        ids = list((await session.scalars(select(AuditRow.request_id))).all())
        assert await session.scalar(select(func.count()).select_from(AuditRow)) == len(ids)
    await engine.dispose()
    return ids


def test_prune_deletes_entries_before_the_instant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    asyncio.run(_seed(url))
    monkeypatch.setenv("DTWIN_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli_app, ["audit", "prune", "--before", "2026-03-01T00:00:00"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert "deleted 1 audit entries" in r.output
    assert asyncio.run(_left(url)) == ["new"]
