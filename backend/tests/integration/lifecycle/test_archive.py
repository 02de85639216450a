"""Archival on real PostgreSQL: archive -> drop -> history and export across the boundary -> restore, with
identical rows and checksums; a crash between export and drop loses nothing; a late reading between them
keeps the day; the same round trip on an S3-compatible store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.config import Settings
from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.archiver import Archiver
from dtwin.lifecycle.service import LifecycleConfig, LifecycleService
from dtwin.main import create_app
from dtwin.readings.archive import ArchiveStore
from dtwin.readings.history import History
from dtwin.readings.service import ReadingTuple, store_readings
from dtwin_devkit.servers import Server

from ...factories.auth import bearer, token_from_settings
from .conftest import readings

TODAY = datetime.now(UTC).date()
D1, D2 = TODAY - timedelta(days=40), TODAY - timedelta(days=39)
START = datetime(D1.year, D1.month, D1.day, 6, tzinfo=UTC)  # 36 h: the rest of D1 and most of D2
WINDOW = (START - timedelta(days=1), START + timedelta(days=3))


def service(sessions: async_sessionmaker[AsyncSession], store: ArchiveStore) -> LifecycleService:
    return LifecycleService(sessions, store, LifecycleConfig(raw_retention_days=30, max_age_s=30 * 86400))


def keyed(rows: list[tuple[datetime, str, float, str]]) -> set[tuple[str, str, float, str]]:
    return {(ts.isoformat(), s, v, q) for ts, s, v, q in rows}


async def raw_of(
    sessions: async_sessionmaker[AsyncSession], svc: LifecycleService | None, machine: str
) -> Any:
    async with sessions() as session:
        return await History(session, svc).raw(
            machine, sensor=None, start=WINDOW[0], end=WINDOW[1], limit=100_000
        )


async def count_days(sessions: async_sessionmaker[AsyncSession], *days: date) -> int:
    lo = parts.day_bounds(min(days))[0]
    hi = parts.day_bounds(max(days))[1]
    async with sessions() as session:
        q = text("SELECT count(*) FROM readings WHERE ts >= :lo AND ts < :hi")
        return int((await session.execute(q, {"lo": lo, "hi": hi})).scalar() or 0)


async def fill(sessions: async_sessionmaker[AsyncSession]) -> list[ReadingTuple]:
    rows = readings(START, 36, every_s=10.0)
    await store_readings(sessions, rows)
    async with sessions() as session, session.begin():
        await parts.ensure_days(session, "reading_rows", [D1])  # D1's rows move out of the default partition
    return rows


async def round_trip(sessions: async_sessionmaker[AsyncSession], store: ArchiveStore) -> None:
    rows = await fill(sessions)
    svc = service(sessions, store)
    await svc.refresh()
    before = await raw_of(sessions, None, "m-a")
    async with sessions() as session:
        hourly_before, _, _ = await History(session, svc).buckets(
            "m-a", "1h", sensor=None, start=WINDOW[0], end=WINDOW[1]
        )
    digests = {d: await svc.archiver.db_digest(d) for d in (D1, D2)}

    done = await svc.maintain()
    assert [(a.day, a.removed) for a in done] == [(D1, "drop"), (D2, "delete")]
    assert sum(a.rows for a in done) == len(rows)
    assert await count_days(sessions, D1, D2) == 0
    async with sessions() as session:
        names = [p.name for p in await parts.partitions(session, "reading_rows")]
    assert f"reading_rows_p{D1:%Y%m%d}" not in names
    assert {r.day: r.state for r in await svc.archived()} == {D1: "dropped", D2: "dropped"}
    for d in (D1, D2):
        manifest = store.verify(d)
        assert manifest.digest == digests[d]

    # history across the boundary: raw from the archive, buckets still from the rollups
    after, part = await raw_of(sessions, svc, "m-a")
    assert keyed(after) == keyed(before[0]) and len(after) == len(before[0])
    assert part is not None and part.days == [D1, D2] and part.rows == len(after)
    async with sessions() as session:
        hourly_after, source, hpart = await History(session, svc).buckets(
            "m-a", "1h", sensor=None, start=WINDOW[0], end=WINDOW[1]
        )
    assert hourly_after == hourly_before and source.startswith("rollup:1h") and hpart is None

    # restore: the same rows, the same digest
    manifest = await svc.restore(D1)
    assert await svc.archiver.db_digest(D1) == manifest.digest == digests[D1]
    assert {r.day: r.state for r in await svc.archived()} == {D1: "restored", D2: "dropped"}
    assert (
        await svc.archiver.due_days(
            svc.config.archive_cutoff(datetime.now(UTC)),
            keep_restored=timedelta(days=7),
            now=datetime.now(UTC),
            limit=9,
        )
        == []
    )  # restored days stay for a while
    restored, part = await raw_of(sessions, svc, "m-a")
    assert keyed(restored) == keyed(before[0]) and part is not None and part.days == [D2]


async def test_archive_drop_query_restore_round_trip(
    sessions: async_sessionmaker[AsyncSession], archive_dir: Path
) -> None:
    await round_trip(sessions, ArchiveStore(str(archive_dir)))
    assert sorted(p.name for p in archive_dir.rglob("*.parquet")) == [f"{D1}.parquet", f"{D2}.parquet"]


async def test_the_round_trip_on_an_s3_compatible_store(
    sessions: async_sessionmaker[AsyncSession], s3: Server
) -> None:
    options = {"endpoint_url": s3.url, "key": "dtwin-test", "secret": "dtwin-test"}
    store = ArchiveStore(f"s3://tansu/archive-{date.today():%H%M%S}-{id(sessions)}", options)
    await round_trip(sessions, store)
    assert len(store.manifests()) == 2


async def test_a_crash_between_export_and_drop_loses_nothing(
    sessions: async_sessionmaker[AsyncSession], archive_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await fill(sessions)
    svc = service(sessions, ArchiveStore(str(archive_dir)))
    drop = Archiver.drop

    async def crash(self: Archiver, day: date, manifest: Any) -> str:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(Archiver, "drop", crash)
    with pytest.raises(RuntimeError):
        await svc.maintain()
    assert await count_days(sessions, D1, D2) == len(rows)  # nothing left the database
    assert {r.day: r.state for r in await svc.archived()} == {D1: "verified"}

    monkeypatch.setattr(Archiver, "drop", drop)
    done = await svc.maintain()  # the next run exports again and finishes
    assert [a.day for a in done] == [D1, D2] and all(a.removed for a in done)
    assert await count_days(sessions, D1, D2) == 0
    archived, part = await raw_of(sessions, svc, "m-a")
    assert part is not None and len(archived) == sum(1 for r in rows if r[0] == "m-a")


async def test_a_late_reading_between_export_and_drop_keeps_the_day(
    sessions: async_sessionmaker[AsyncSession], archive_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await fill(sessions)
    svc = service(sessions, ArchiveStore(str(archive_dir)))
    verify = Archiver.verify
    late: ReadingTuple = ("m-a", "temp", START + timedelta(hours=1, seconds=0.5), 1.0, "good")

    async def verify_then_late(self: Archiver, day: date) -> Any:
        manifest = await verify(self, day)
        if day == D1:
            await store_readings(sessions, [late])
        return manifest

    monkeypatch.setattr(Archiver, "verify", verify_then_late)
    done = await svc.maintain()
    assert [(a.day, bool(a.removed)) for a in done] == [(D1, False), (D2, True)]
    assert "rows in the database" in done[0].reason
    monkeypatch.setattr(Archiver, "verify", verify)
    again = await svc.maintain()
    assert [(a.day, a.rows) for a in again] == [(D1, sum(1 for r in rows if r[2].date() == D1) + 1)]
    assert await count_days(sessions, D1, D2) == 0


async def test_the_api_answers_across_the_archive(
    real_settings: Settings, lc_url: str, sessions: async_sessionmaker[AsyncSession], archive_dir: Path
) -> None:
    rows = await fill(sessions)
    settings = real_settings.model_copy(
        update={"database_url": lc_url, "archive_url": str(archive_dir), "max_age_s": 30 * 86400.0}
    )
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        svc: LifecycleService = app.state.lifecycle
        await svc.refresh()
        done = await svc.maintain()
        assert [a.day for a in done] == [D1, D2]
        headers = bearer(await token_from_settings(settings))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
            assert (
                await c.post("/api/v1/twins", json={"id": "m-a", "machine_type": "pump"})
            ).status_code == 201
            window = {"from": WINDOW[0].isoformat(), "to": WINDOW[1].isoformat()}
            raw = (
                await c.get("/api/v1/twins/m-a/history", params={**window, "bucket": "raw", "limit": 100_000})
            ).json()
            assert raw["archive"]["days"] == [str(D1), str(D2)]
            assert len(raw["items"]) == sum(1 for r in rows if r[0] == "m-a")
            daily = (await c.get("/api/v1/twins/m-a/history", params={**window, "bucket": "1d"})).json()
            assert daily["source"] == "rollup:1d" and daily["archive"] is None
            assert sum(p["count"] for p in daily["items"]) == sum(
                1 for r in rows if r[0] == "m-a" and r[4] != "bad"
            )
            narrow: dict[str, str | int] = {
                "from": START.isoformat(),
                "to": (START + timedelta(hours=2)).isoformat(),
                "width": 800,
            }
            series = (await c.get("/api/v1/twins/m-a/series", params=narrow)).json()
            assert series["source"] == "raw" and series["archive"]["days"] == [str(D1)]
            assert sum(p["raw_count"] for p in series["sensors"].values()) > 0
            async with c.stream("GET", "/api/v1/twins/m-a/export.csv") as r:
                assert r.headers["x-archive-days"] == f"{D1},{D2}"
                lines = [line async for line in r.aiter_lines() if line]
            assert len(lines) - 1 == sum(1 for r in rows if r[0] == "m-a")
            status = (await c.get("/api/v1/lifecycle")).json()
            assert status["layout"] == "partitioned" and status["rollup_watermark"] is not None
            listed = (await c.get("/api/v1/archive")).json()
            assert [i["day"] for i in listed["items"]] == [str(D1), str(D2)] and listed["rows"] == len(rows)
            ok = (await c.get(f"/api/v1/archive/{D1}/verify")).json()
            assert ok["ok"] is True and ok["rows"] > 0
            assert (await c.get("/api/v1/archive/2001-01-01/verify")).status_code == 404
            metrics = (await c.get("/metrics")).text
            assert 'dtwin_rollup_watermark_lag_seconds{level="10s"}' in metrics
            assert f"dtwin_archived_rows_total {float(len(rows))}" in metrics
