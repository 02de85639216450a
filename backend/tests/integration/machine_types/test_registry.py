"""The machine-type registry on real PostgreSQL (with Redis and Kafka behind the app): the API end to end,
concurrent creation, seeding from several processes at once, and a change made by one backend process
reaching another process's scoring engine through the periodic refresh."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.anomalies.engine import ScoringEngine
from dtwin.config import Settings
from dtwin.contracts.telemetry import Telemetry
from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.machine_types.catalogue import catalogue_types
from dtwin.machine_types.ranges import OperatingRanges
from dtwin.machine_types.schemas import MachineTypePut, SensorSpec
from dtwin.machine_types.service import MachineTypeService
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin

URL = "/api/v1/machine-types"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def press(hi: float = 100.0, description: str = "") -> MachineTypePut:
    return MachineTypePut(
        description=description,
        sensors=[SensorSpec(name="pressure_bar", unit="bar", lo=0.0, hi=hi)],
    )


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_registry_api_on_postgresql(real_settings: Settings, uid: str) -> None:
    name = f"press-{uid}"
    app = create_app(real_settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as c,
    ):
        listed = (await c.get(URL, params={"limit": 1000})).json()
        names = [t["name"] for t in listed["items"]]
        assert {t.name for t in catalogue_types() or []} <= set(names)  # seeded (by this or an earlier app)
        assert names == sorted(names) and listed["count"] == len(names)

        body = press().model_dump(exclude_none=True)
        r = await c.put(f"{URL}/{name}", json=body)
        assert r.status_code == 201 and r.headers["etag"] == '"1"', r.text
        r = await c.put(f"{URL}/{name}", json={**body, "description": "v2"}, headers={"If-Match": '"1"'})
        assert r.status_code == 200 and r.json()["version"] == 2
        stale = await c.put(f"{URL}/{name}", json=body, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
        bad = await c.put(f"{URL}/{name}", json={"sensors": [{"name": "p", "lo": 3, "hi": 1}]})
        assert bad.status_code == 422
        assert (await c.get(f"{URL}/{name}")).json()["version"] == 2  # the bad PUT stored nothing

        twin = f"p{uid}-0001"
        assert (await c.post("/api/v1/twins", json={"id": twin, "machine_type": name})).status_code == 201
        refused = await c.delete(f"{URL}/{name}")
        assert refused.status_code == 409 and twin in refused.json()["detail"]
        assert (await c.delete(f"/api/v1/twins/{twin}")).status_code == 204
        assert (await c.delete(f"{URL}/{name}", headers={"If-Match": '"2"'})).status_code == 204
        assert (await c.get(f"{URL}/{name}")).status_code == 404
        recreated = await c.put(f"{URL}/{name}", json=body)
        assert recreated.status_code == 201 and recreated.json()["version"] == 4
        assert app.state.machine_type_ranges(name, "pressure_bar") == (0.0, 100.0)


async def test_concurrent_creates_of_one_type_become_create_then_replace(
    sessions: async_sessionmaker[AsyncSession], uid: str
) -> None:
    name = f"race-{uid}"

    async def put(body: MachineTypePut) -> bool:
        async with transaction(sessions) as session:
            _, created = await MachineTypeService(session).put(name, body)
        return created

    async with transaction(sessions) as first:
        _, created = await MachineTypeService(first).put(name, press(description="first"))
        assert created
        second = asyncio.create_task(put(press(description="second")))
        await asyncio.sleep(0.5)
        assert not second.done()  # waiting on the uncommitted row of the same name
    assert await second is False  # it replaced what the first created, instead of failing
    async with sessions() as session:
        got = await MachineTypeService(session).get(name)
    assert (got.description, got.version) == ("second", 2)


async def test_seeding_from_several_processes_at_once_inserts_each_type_once(
    sessions: async_sessionmaker[AsyncSession], uid: str
) -> None:
    types = [MachineTypePut(name=f"seed-{uid}-{k}", sensors=press().sensors) for k in range(5)]

    async def seed() -> None:
        async with transaction(sessions) as session:
            await MachineTypeService(session).seed(types)

    await asyncio.gather(*(seed() for _ in range(4)))
    async with transaction(sessions) as session:
        service = MachineTypeService(session)
        await service.put(types[0].name or "", press(hi=50))  # an operator's edit...
    await seed()  # ...is not overwritten by the next start
    async with sessions() as session:
        got = [await MachineTypeService(session).get(t.name or "") for t in types]
    assert [g.version for g in got] == [2, 1, 1, 1, 1]
    assert got[0].sensors[0].hi == 50.0


def reading(machine: str, machine_type: str, second: int, value: float) -> Telemetry:
    return Telemetry(machine, machine_type, T0 + timedelta(seconds=second), {"pressure_bar": value})


async def test_a_change_in_one_process_reaches_another_process_scoring(
    sessions: async_sessionmaker[AsyncSession], pg_url: str, uid: str
) -> None:
    name = f"press-{uid}"
    async with transaction(sessions) as session:
        await MachineTypeService(session).put(name, press(hi=100))

    other_db = create_engine(pg_url)  # the other backend process: its own engine and ranges
    theirs = OperatingRanges(create_sessionmaker(other_db), refresh_s=0.1)
    assert await theirs.load() and theirs.source == "registry"
    assert theirs(name, "pressure_bar") == (0.0, 100.0)
    engine = ScoringEngine(limits=theirs)
    for s in range(40):
        out = engine.score_batch([reading("press-1", name, s, 50.0 + (s % 3) * 0.1)])
        assert not out.machines.is_anomaly.any()
    refresher = asyncio.create_task(theirs.run())
    try:
        mine = OperatingRanges(sessions)
        await mine.load()
        async with transaction(sessions) as session:
            await MachineTypeService(session, ranges=mine).put(name, press(hi=20))
        assert mine(name, "pressure_bar") == (0.0, 20.0)  # at once in the process that made the change

        async def refreshed() -> bool:
            return theirs(name, "pressure_bar") == (0.0, 20.0)

        await eventually(refreshed, timeout=5, what="the other process's periodic refresh")
        out = engine.score_batch([reading("press-1", name, 40, 50.0)])
        assert out.machines.is_anomaly.all()
        assert [(e.kind, e.explanation[0].detector) for e in out.events] == [("start", "limit")]
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await other_db.dispose()
