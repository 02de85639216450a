"""Data quality on real PostgreSQL and Redis: duplicates counted from what the database inserted (a redelivered
batch), a reading out of its physical range stored "bad" and raising no threshold alarm, gaps and counts
from two backend processes adding up, and the API answering from the tables after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.models import AlarmRow
from dtwin.alarms.schemas import AlarmRuleIn
from dtwin.alarms.service import AlarmService
from dtwin.alarms.stage import AlarmStage
from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.data_quality.cleanse import CleanseConfig, Cleanser
from dtwin.data_quality.repository import DataQualityRepository
from dtwin.data_quality.stage import DataQualityStage
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.machine_types.catalogue import catalogue_types, physical_table_of
from dtwin.main import create_app
from dtwin.readings.models import ReadingRow
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import eventually
from tests.fixed_dates import FIXED_DATES_LIMITS

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the fixed dates the test settings accept


class CatalogueRanges:
    def __init__(self) -> None:
        self.physical = physical_table_of(catalogue_types())
        self.physical_version = 1


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def msg(offset: int, machine: str, s: float, **readings: float) -> BusMessage:
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "centrifugal_pump",
        "ts": (T0 + timedelta(seconds=s)).isoformat(),
        "readings": readings or {"temperature_c": 50.0, "vibration_mm_s": 2.0},
    }
    return BusMessage("telemetry.raw", 0, offset, machine.encode(), orjson.dumps(body), {})


def consumer(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    uid: str,
    alarms: AlarmStage | None = None,
) -> TelemetryConsumer:
    return TelemetryConsumer(
        MemoryBus(),
        sessions,
        TwinStore(redis, RedisKeys(f"t{uid}")),
        topic="telemetry.raw",
        dlq_topic="telemetry.dlq",
        group="g",
        limits=FIXED_DATES_LIMITS,
        alarms=alarms,
        quality=DataQualityStage(sessions, Cleanser(CleanseConfig(), CatalogueRanges())),
    )


async def test_a_redelivered_batch_counts_its_readings_as_duplicates(
    sessions: async_sessionmaker[AsyncSession], real_redis: aioredis.Redis, uid: str
) -> None:
    c = consumer(sessions, real_redis, uid)
    batch = [msg(k, f"pump-{uid}", k) for k in range(5)]  # 10 readings
    await c.process_batch(batch)
    assert c.quality is not None and c.quality.totals["duplicate"] == 0
    await c.process_batch(batch[2:])  # redelivered after a crash before the commit: 6 readings again
    assert c.quality.totals["duplicate"] == 6
    # and one message sent twice within a batch
    await c.process_batch([msg(10, f"pump-{uid}", 10), msg(11, f"pump-{uid}", 10)])
    assert c.quality.totals["duplicate"] == 8


async def test_out_of_physical_range_is_stored_bad_and_raises_no_alarm(
    sessions: async_sessionmaker[AsyncSession], real_redis: aioredis.Redis, uid: str
) -> None:
    broken, hot = f"broken-{uid}", f"hot-{uid}"
    for machine in (broken, hot):  # hi 80 °C on both
        async with sessions() as session:
            body = AlarmRuleIn(
                name="hot", machine_id=machine, sensor="temperature_c", kind="hi", threshold=80.0
            )
            await AlarmService(session).create_rule(body, "user:test")
    c = consumer(sessions, real_redis, uid, alarms=AlarmStage(sessions))
    await c.process_batch([msg(0, broken, 0, temperature_c=900.0), msg(1, hot, 0, temperature_c=95.0)])
    async with sessions() as session:
        q = select(ReadingRow.machine_id, ReadingRow.quality).where(ReadingRow.machine_id.in_([broken, hot]))
        assert dict((await session.execute(q)).all()) == {broken: "bad", hot: "good"}
        q2 = select(AlarmRow.machine_id).where(AlarmRow.machine_id.in_([broken, hot]))
        assert set((await session.scalars(q2)).all()) == {hot}


async def test_two_processes_counts_add_up_and_gaps_are_stored(
    sessions: async_sessionmaker[AsyncSession], real_redis: aioredis.Redis, uid: str
) -> None:
    a, b = consumer(sessions, real_redis, uid), consumer(sessions, real_redis, uid)
    one, two = f"p1-{uid}", f"p2-{uid}"
    for c, machine in ((a, one), (b, two)):  # each process owns one machine (its partitions)
        await c.process_batch([msg(k, machine, k, temperature_c=900.0) for k in range(3)])
        await c.process_batch([msg(3, machine, 100)])
        assert c.quality is not None and await c.quality.flush()
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC) + timedelta(hours=1)
    async with sessions() as session:
        repo = DataQualityRepository(session)
        assert (await repo.totals(start, end, one)).get("physical_range") == 3
        worst = dict(await repo.worst(start, end, 1000))
        assert worst[one]["physical_range"] == worst[two]["physical_range"] == 3
        gaps, n, seconds = await repo.gaps(T0, T0 + timedelta(hours=1), machine_id=two)
        assert (n, seconds) == (1, 98.0) and gaps[0].start == T0 + timedelta(seconds=2)


async def test_the_api_answers_from_the_tables_after_a_restart(
    real_settings: Settings, admin_headers: dict[str, str], uid: str
) -> None:
    machine = f"pump-api-{uid}"
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "centrifugal_pump",
        "readings": {"temperature_c": 900.0},
    }

    def run(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers
        )

    app = create_app(real_settings)
    async with app.router.lifespan_context(app):
        bus = app.state.adapters.bus
        for k in range(3):
            ts = (T0 + timedelta(seconds=k)).isoformat()
            await bus.produce(
                real_settings.topic_telemetry, orjson.dumps({**body, "ts": ts}), key=machine.encode()
            )
        await bus.flush()
        quality = app.state.consumer.quality

        async def counted() -> bool:
            return quality.totals["physical_range"] >= 3

        await eventually(counted, timeout=30, what="three readings out of range")
    # the lifespan's end flushed what waited; a new process answers from the tables
    app2 = create_app(real_settings)
    async with app2.router.lifespan_context(app2), run(app2) as client:
        r = await client.get(f"/api/v1/twins/{machine}/data-quality")
        assert r.status_code == 200, r.text
        assert r.json()["counts"]["physical_range"] == 3
