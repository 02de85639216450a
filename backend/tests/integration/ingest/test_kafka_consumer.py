"""The consumer against real Kafka (Tansu), Redis and PostgreSQL: durable writes, DLQ, committed offsets."""

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.change_stream import seq_floor
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.kit.bus import KafkaBus
from dtwin.readings.repository import ReadingRepository
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import eventually, read_topic
from tests.fixed_dates import FIXED_DATES_LIMITS

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def payload(machine: str, i: int) -> bytes:
    return orjson.dumps(
        {
            "schema": 1,
            "machine_id": machine,
            "machine_type": "induction_motor",
            "ts": (T0 + timedelta(seconds=i)).isoformat(),
            "readings": {"current_a": float(i)},
        }
    )


async def test_consumer_writes_batches_dead_letters_and_commits(
    real_settings: Settings, real_redis: aioredis.Redis, uid: str
) -> None:
    s = real_settings
    bus = KafkaBus(s.kafka_bootstrap or "", acks="all")
    await bus.start()
    await bus.ensure_topics({s.topic_telemetry: 3, s.topic_dlq: 1})
    machines = [f"motor-{uid}-{k}" for k in range(4)]
    for i in range(10):
        for m in machines:
            await bus.produce(s.topic_telemetry, payload(m, i), key=m.encode())
    await bus.produce(s.topic_telemetry, b'{"schema": 1, "machine_id": "broken"}', key=b"broken")
    await bus.flush()

    engine = create_engine(s.database_url)
    sessions = create_sessionmaker(engine)
    store = TwinStore(real_redis, RedisKeys(s.redis_prefix))

    def make_consumer() -> TelemetryConsumer:
        return TelemetryConsumer(
            bus,
            sessions,
            store,
            limits=FIXED_DATES_LIMITS,
            topic=s.topic_telemetry,
            dlq_topic=s.topic_dlq,
            group=s.consumer_group,
            poll_timeout_ms=100,
        )

    async def stored_rows() -> int:
        async with sessions() as session:
            return sum([await ReadingRepository(session).count(m) for m in machines])

    floor_before = seq_floor()
    first = make_consumer()
    task = asyncio.create_task(first.run())
    try:
        await eventually(lambda: _equals(stored_rows, 40), timeout=30, what="40 rows in PostgreSQL")
        h = await real_redis.hgetall(f"{s.redis_prefix}:twin:{machines[0]}")
        assert orjson.loads(h[b"r:current_a"]) == 9.0
        # a new twin starts at the version floor of its first batch; then one increment per batch that
        # changed it (10 messages)
        assert floor_before < int(h[b"version"]) <= seq_floor() + 10
        assert h[b"ts"] == b"2026-11-23T10:00:09.000Z"
        dlq = await read_topic(s.kafka_bootstrap or "", s.topic_dlq, at_least=1)
        record = orjson.loads(dlq[0].value)  # type: ignore[attr-defined]
        assert record["machine_id"] == "broken" and record["source"] == s.topic_telemetry
        assert "ts: Field required" in record["reason"]
        assert first.state.rejected == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # offsets were committed: a restarted consumer in the same group sees nothing old, only new data
    second = make_consumer()
    task = asyncio.create_task(second.run())
    try:
        await bus.produce(s.topic_telemetry, payload(machines[0], 10), key=machines[0].encode())
        await bus.flush()
        await eventually(lambda: _equals(stored_rows, 41), timeout=30, what="the new row")
        assert second.state.messages == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.stop()
        await engine.dispose()


async def _equals(fn, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await fn() == expected)
