"""The consumer's batch logic with embedded adapters (MemoryBus, fakeredis, SQLite)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.telemetry import Telemetry
from dtwin.contracts.topics import RedisKeys
from dtwin.core.bus import BusMessage, MemoryBus
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.migrate import upgrade
from dtwin.ingest.consumer import TelemetryConsumer, coalesce
from dtwin.readings.repository import ReadingRepository
from dtwin.twins.store import TwinStore

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def msg(offset: int, machine: str = "pump-0001", ts: datetime = T0, **readings: float) -> BusMessage:
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "centrifugal_pump",
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "readings": readings or {"temperature_c": 50.0},
    }
    return BusMessage(
        "telemetry.raw", 0, offset, machine.encode(), orjson.dumps(body), {"site": "s1", "line": "l1"}
    )


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    await upgrade(url)
    engine = create_engine(url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def redis() -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())


@pytest.fixture
def consumer(
    sessions: async_sessionmaker[AsyncSession], redis: fakeredis.FakeAsyncRedis
) -> TelemetryConsumer:
    return TelemetryConsumer(
        MemoryBus(),
        sessions,
        TwinStore(redis, RedisKeys("t")),
        topic="telemetry.raw",
        dlq_topic="telemetry.dlq",
        group="g",
    )


async def count_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return await ReadingRepository(s).count()


async def test_batch_writes_rows_twin_hash_and_publishes(
    consumer: TelemetryConsumer, redis, sessions
) -> None:
    pubsub = redis.pubsub()
    await pubsub.subscribe("t:updates")
    await pubsub.get_message(timeout=1)  # subscribe confirmation
    result = await consumer.process_batch(
        [msg(0, temperature_c=50.0, vibration_mm_s=2.0), msg(1, "motor-0002", temperature_c=40.0)]
    )
    assert (result.accepted, result.readings, result.machines) == (2, 3, 2)
    assert await count_rows(sessions) == 3
    h = await redis.hgetall("t:twin:pump-0001")
    assert orjson.loads(h[b"r:temperature_c"]) == 50.0
    assert h[b"version"] == b"1"
    assert h[b"site"] == b"s1"
    assert await redis.smembers("t:twins") == {b"pump-0001", b"motor-0002"}
    published = await pubsub.get_message(timeout=1)
    body = orjson.loads(published["data"])
    assert body["type"] == "twins"
    assert body["seq"] == 1
    assert {u["id"] for u in body["items"]} == {"pump-0001", "motor-0002"}
    assert {u["kind"] for u in body["items"]} == {"reported"}
    # the same message is in the change log, for WebSocket resume
    assert await redis.xrange("t:changes") == [(b"1-0", {b"m": published["data"]})]


async def test_redelivered_batch_creates_no_duplicate_rows(consumer: TelemetryConsumer, sessions) -> None:
    batch = [msg(0), msg(1, ts=T0 + timedelta(seconds=1))]
    await consumer.process_batch(batch)
    await consumer.process_batch(batch)
    assert await count_rows(sessions) == 2


async def test_invalid_message_goes_to_dlq_with_reason_and_batch_continues(
    consumer: TelemetryConsumer, sessions
) -> None:
    bad = BusMessage("telemetry.raw", 3, 17, b"x", b'{"schema": 1, "machine_id": "x"}')
    result = await consumer.process_batch([bad, msg(1)])
    assert (result.accepted, result.rejected) == (1, 1)
    assert await count_rows(sessions) == 1
    dlq = consumer.bus.retained("telemetry.dlq")  # type: ignore[attr-defined]
    assert len(dlq) == 1
    record = orjson.loads(dlq[0].value)
    assert record["partition"] == 3 and record["offset"] == 17 and record["source"] == "telemetry.raw"
    assert "ts" in record["reason"] and record["payload"] == bad.value.decode()


def test_coalesce_keeps_newest_values_and_the_time_of_older_ones() -> None:
    older = Telemetry("m", "t", T0, {"a": 1.0, "b": 1.0}, reported={"mode": "on"})
    newer = Telemetry("m", "t", T0 + timedelta(seconds=1), {"a": 2.0})
    for order in ([older, newer], [newer, older]):
        (u,) = coalesce([(t, {}) for t in order])
        assert u["readings"] == {"a": 2.0, "b": 1.0}
        assert u["reported"] == {"mode": "on"}
        assert u["ts"] == "2026-11-23T10:00:01.000Z"
        assert u["times"] == {"r:b": "2026-11-23T10:00:00.000Z", "p:mode": "2026-11-23T10:00:00.000Z"}


async def test_late_data_never_overwrites_newer_values_across_batches(
    consumer: TelemetryConsumer, redis
) -> None:
    pubsub = redis.pubsub()
    await pubsub.subscribe("t:updates")
    await pubsub.get_message(timeout=1)
    await consumer.process_batch([msg(0, ts=T0 + timedelta(seconds=10), temperature_c=70.0)])
    await consumer.process_batch([msg(1, ts=T0, temperature_c=20.0, vibration_mm_s=3.0)])  # late
    twin = await consumer.store.get("pump-0001")
    assert twin is not None
    assert twin["readings"] == {"temperature_c": 70.0, "vibration_mm_s": 3.0}  # late value only fills a gap
    assert twin["ts"] == "2026-11-23T10:00:10.000Z"
    assert twin["version"] == 2
    first = orjson.loads((await pubsub.get_message(timeout=1))["data"])
    second = orjson.loads((await pubsub.get_message(timeout=1))["data"])
    assert first["items"][0]["readings"] == {"temperature_c": 70.0}
    assert second["items"][0]["readings"] == {"vibration_mm_s": 3.0}  # only the effective change
    await consumer.process_batch([msg(2, ts=T0, temperature_c=20.0)])  # changes nothing
    assert (await consumer.store.get("pump-0001"))["version"] == 2  # type: ignore[index]


async def test_reported_device_settings_land_in_the_twin(consumer: TelemetryConsumer) -> None:
    body = {
        "schema": 1,
        "machine_id": "motor-1",
        "ts": "2026-11-23T10:00:00Z",
        "readings": {"current_a": 3.0},
        "reported": {"mode": "standby", "speed_setpoint_rpm": 1400},
    }
    await consumer.process_batch([BusMessage("telemetry.raw", 0, 0, b"motor-1", orjson.dumps(body), {})])
    twin = await consumer.store.get("motor-1")
    assert twin is not None and twin["reported"] == {"mode": "standby", "speed_setpoint_rpm": 1400}
