"""The twins room's SQL on both dialects (real PostgreSQL and SQLite): registry rows are inserted once and
upserted without losing `created_at`, deleted, and read back as placements; the change log is paged newest
first with kind, window and cursor filters."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.core.migrate import upgrade
from dtwin.twins.durable import TwinRegistry
from dtwin.twins.repository import TwinRepository
from dtwin.twins.schemas import TwinPlacement

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
        await upgrade(url)
    engine = create_engine(url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def row(machine_id: str, *, site: str | None = "s1", at: datetime = T0, **extra: object) -> dict[str, object]:
    return {
        "id": machine_id,
        "machine_type": "pump",
        "site": site,
        "line": "l1" if site else None,
        "attributes": {},
        "desired": {},
        "desired_version": 0,
        "created_at": at,
        "updated_at": at,
        **extra,
    }


async def test_registry_rows_insert_once_upsert_and_delete(
    sessions: async_sessionmaker[AsyncSession], uid: str
) -> None:
    a, b = f"a-{uid}", f"b-{uid}"
    async with transaction(sessions) as s:
        await TwinRepository(s).add_new([row(a), row(b)])
    async with transaction(sessions) as s:  # a second registration changes nothing
        await TwinRepository(s).add_new([row(a, site="elsewhere", attributes={"x": 1})])
        await TwinRepository(s).add_new([])
    later = T0 + timedelta(hours=1)
    async with transaction(sessions) as s:
        await TwinRepository(s).upsert(row(b, site=None, at=later, desired={"mode": "on"}, desired_version=3))
    async with sessions() as s:
        mine = {r.id: r for r in await TwinRepository(s).all() if r.id in (a, b)}
    assert mine[a].site == "s1" and mine[a].attributes == {}
    assert mine[b].desired == {"mode": "on"} and mine[b].desired_version == 3
    assert mine[b].created_at == T0 and mine[b].updated_at == later

    placements = await TwinRegistry(sessions).placements()
    assert placements[a] == TwinPlacement(id=a, machine_type="pump", site="s1", line="l1")
    assert placements[b] == TwinPlacement(id=b, machine_type="pump", site=None, line=None)

    async with transaction(sessions) as s:
        await TwinRepository(s).delete(a)
    assert a not in await TwinRegistry(sessions).placements()


async def test_change_log_pages_newest_first_with_filters(
    sessions: async_sessionmaker[AsyncSession], uid: str
) -> None:
    m = f"m-{uid}"
    kinds = ["created", "desired", "status", "desired", "status", "deleted"]
    entries = [
        {"machine_id": m, "ts": T0 + timedelta(minutes=i), "kind": k, "version": i, "details": {"i": i}}
        for i, k in enumerate(kinds)
    ]
    async with transaction(sessions) as s:
        await TwinRepository(s).add_events(entries)
        await TwinRepository(s).add_events([])
        await TwinRepository(s).add_events([{**entries[0], "machine_id": f"other-{uid}"}])

    async def page(**kw: object) -> list[int]:
        args: dict[str, object] = {"kinds": None, "start": None, "end": None, "before_id": None, "limit": 100}
        async with sessions() as s:
            rows = await TwinRepository(s).events_page(m, **{**args, **kw})  # type: ignore[arg-type]
        return [r.details["i"] for r in rows]

    assert await page() == [5, 4, 3, 2, 1, 0]
    assert await page(kinds=["desired", "deleted"]) == [5, 3, 1]
    assert await page(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3)) == [3, 2, 1]
    async with sessions() as s:
        first = await TwinRepository(s).events_page(
            m, kinds=None, start=None, end=None, before_id=None, limit=2
        )
    assert [r.details["i"] for r in first] == [5, 4]
    assert await page(before_id=first[-1].id, limit=3) == [3, 2, 1]
