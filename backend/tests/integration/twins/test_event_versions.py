"""The change log stores twin versions as they are now issued (13 digits from the version floor) on
PostgreSQL: an INTEGER column refused them and the entries were lost (`twin_events_not_recorded`)."""

from __future__ import annotations

from datetime import UTC, datetime

from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.twins.events import TwinEventLog
from dtwin.twins.store import version_floor


async def test_thirteen_digit_versions_are_logged(pg_url: str, uid: str) -> None:
    engine = create_engine(pg_url)
    try:
        log = TwinEventLog(create_sessionmaker(engine))
        version = version_floor() + 1
        assert version > 2**31
        await log.record(f"m-{uid}", datetime.now(UTC), "created", {}, version, "user:admin")
        page = await log.page(f"m-{uid}", kinds=None, start=None, end=None, before_id=None, limit=10)
        assert [(e.kind, e.version) for e in page] == [("created", version)]
    finally:
        await engine.dispose()
