"""Replay re-feeds stored readings through Kafka, regrouped per machine-instant in time order, and the
pipeline stores nothing twice."""

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.kit.bus import KafkaBus
from dtwin.readings.replay import replay
from dtwin.readings.repository import ReadingRepository
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import eventually, read_topic
from tests.fixed_dates import FIXED_DATES_LIMITS

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def test_replay_regroups_in_order_and_duplicates_nothing(
    real_settings: Settings, real_redis: aioredis.Redis, uid: str
) -> None:
    s = real_settings
    machine = f"rp-{uid}"
    engine = create_engine(s.database_url)
    sessions = create_sessionmaker(engine)
    rows = [
        (machine, sensor, T0 + timedelta(seconds=i), float(i) * sign, "good")
        for i in range(30)
        for sensor, sign in (("a", 1), ("b", -1))
    ]
    async with transaction(sessions) as session:
        await ReadingRepository(session).insert_many(rows)
    bus = KafkaBus(s.kafka_bootstrap or "")
    await bus.start()
    try:
        stats = await replay(
            bus,
            sessions,
            topic=s.topic_telemetry,
            start=T0,
            end=T0 + timedelta(seconds=19),
            machine_id=machine,
            chunk=7,
        )
        assert (stats.messages, stats.readings) == (20, 40)
        records = await read_topic(s.kafka_bootstrap or "", s.topic_telemetry, at_least=20)
        bodies = [orjson.loads(r.value) for r in sorted(records, key=lambda r: r.offset)]
        assert [b["readings"] for b in bodies] == [{"a": float(i), "b": -float(i)} for i in range(20)]
        assert all(dict(r.headers)["replay"] == b"1" for r in records)

        store = TwinStore(real_redis, RedisKeys(s.redis_prefix))
        consumer = TelemetryConsumer(
            bus,
            sessions,
            store,
            limits=FIXED_DATES_LIMITS,
            topic=s.topic_telemetry,
            dlq_topic=s.topic_dlq,
            group=s.consumer_group,
            poll_timeout_ms=100,
        )
        task = asyncio.create_task(consumer.run())
        try:

            async def consumed() -> bool:
                return consumer.state.messages >= 20

            await eventually(consumed, timeout=30, what="replayed messages consumed")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with sessions() as session:
            assert await ReadingRepository(session).count(machine) == 60  # nothing stored twice
        twin = await store.get(machine)
        assert twin is not None and twin["readings"] == {"a": 19.0, "b": -19.0}
    finally:
        await bus.stop()
        await engine.dispose()
