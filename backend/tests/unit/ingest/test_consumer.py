"""The consumer's batch logic with embedded adapters (MemoryBus, fakeredis, SQLite)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.limits import DEFAULT_LIMITS, Limits
from dtwin.contracts.telemetry import Telemetry, iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.core.change_stream import seq_floor
from dtwin.ingest.consumer import TelemetryConsumer, twin_updates
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.readings.repository import ReadingRepository
from dtwin.twins.store import TwinStore

# yesterday 10:00 UTC: within the accepted age whenever the tests run
T0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


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
def redis() -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())


def make_consumer(
    sessions: async_sessionmaker[AsyncSession],
    redis: fakeredis.FakeAsyncRedis,
    limits: Limits = DEFAULT_LIMITS,
) -> TelemetryConsumer:
    return TelemetryConsumer(
        MemoryBus(),
        sessions,
        TwinStore(redis, RedisKeys("t")),
        topic="telemetry.raw",
        dlq_topic="telemetry.dlq",
        group="g",
        limits=limits,
    )


@pytest.fixture
def consumer(
    sessions: async_sessionmaker[AsyncSession], redis: fakeredis.FakeAsyncRedis
) -> TelemetryConsumer:
    return make_consumer(sessions, redis)


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
    assert int(h[b"version"]) > seq_floor() - 10_000  # a new twin starts at the floor (never backwards)
    assert h[b"site"] == b"s1"
    assert await redis.smembers("t:twins") == {b"pump-0001", b"motor-0002"}
    published = await pubsub.get_message(timeout=1)
    body = orjson.loads(published["data"])
    assert body["type"] == "twins"
    assert body["seq"] == int(await redis.get("t:seq"))
    assert {u["id"] for u in body["items"]} == {"pump-0001", "motor-0002"}
    assert {u["kind"] for u in body["items"]} == {"reported"}
    # the same message is in the change log, for WebSocket resume
    assert await redis.xrange("t:changes") == [(f"{body['seq']}-0".encode(), {b"m": published["data"]})]


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


def test_twin_updates_keep_newest_values_and_the_time_of_older_ones() -> None:
    older = Telemetry("m", "t", T0, {"a": 1.0, "b": 1.0}, reported={"mode": "on"})
    newer = Telemetry("m", "t", T0 + timedelta(seconds=1), {"a": 2.0})
    for order in ([older, newer], [newer, older]):
        (u,) = twin_updates([(t, {}) for t in order])
        assert u.readings == {"a": 2.0, "b": 1.0}
        assert u.reported == {"mode": "on"}
        assert u.ts == iso_utc(T0 + timedelta(seconds=1))
        assert u.times == {"r:b": iso_utc(T0), "p:mode": iso_utc(T0)}


def reference_twin_updates(accepted: list[tuple[Telemetry, dict[str, str]]]) -> list[TwinUpdate]:
    """The per-property merge of every message, as twin_updates did it before its one-message fast path
    (issue #21): the oracle the fast path must agree with."""
    latest: dict[str, TwinUpdate] = {}
    for t, headers in accepted:
        ts = iso_utc(t.ts)
        u = latest.get(t.machine_id)
        if u is None:
            u = latest[t.machine_id] = TwinUpdate(
                id=t.machine_id, machine_type=t.machine_type, site=None, line=None, ts=ts, quality=t.quality,
                readings={},
            )  # fmt: skip
        newer = ts >= u.ts
        if newer:
            u.ts, u.quality = ts, t.quality
            if t.machine_type != "unknown":
                u.machine_type = t.machine_type
        u.site = (t.site or headers.get("site") or u.site) if newer else (u.site or t.site)
        u.line = (t.line or headers.get("line") or u.line) if newer else (u.line or t.line)
        times = u.times
        for ns, values, target in (("r", t.readings, u.readings), ("p", t.reported or {}, u.reported)):
            for name, value in values.items():
                key = f"{ns}:{name}"
                if name not in target or times[key] < ts:
                    target[name] = value
                    times[key] = ts
    for u in latest.values():
        u.times = {k: v for k, v in u.times.items() if v != u.ts}
    return list(latest.values())


message = st.builds(
    lambda machine, second, readings, reported, mtype, site, line, header_site: (
        Telemetry(
            machine, mtype, T0 + timedelta(seconds=second), readings, reported=reported, site=site, line=line
        ),
        {"site": header_site} if header_site else {},
    ),
    st.sampled_from(["m1", "m2", "m3"]),
    st.integers(0, 3),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.floats(-5, 5), min_size=1),
    st.none() | st.dictionaries(st.sampled_from(["mode", "rpm"]), st.integers(0, 3)),
    st.sampled_from(["pump", "unknown"]),
    st.none() | st.sampled_from(["s1", "s2"]),
    st.none() | st.sampled_from(["l1", "l2"]),
    st.none() | st.sampled_from(["hs1", "hs2"]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(message, max_size=12))
def test_twin_updates_agree_with_the_per_property_merge(
    batch: list[tuple[Telemetry, dict[str, str]]],
) -> None:
    assert twin_updates(batch) == reference_twin_updates(batch)


async def test_late_data_never_overwrites_newer_values_across_batches(
    consumer: TelemetryConsumer, redis
) -> None:
    pubsub = redis.pubsub()
    await pubsub.subscribe("t:updates")
    await pubsub.get_message(timeout=1)
    await consumer.process_batch([msg(0, ts=T0 + timedelta(seconds=10), temperature_c=70.0)])
    created = (await consumer.store.get("pump-0001"))["version"]  # type: ignore[index]
    await consumer.process_batch([msg(1, ts=T0, temperature_c=20.0, vibration_mm_s=3.0)])  # late
    twin = await consumer.store.get("pump-0001")
    assert twin is not None
    assert twin["readings"] == {"temperature_c": 70.0, "vibration_mm_s": 3.0}  # late value only fills a gap
    assert twin["ts"] == iso_utc(T0 + timedelta(seconds=10))
    assert twin["version"] == created + 1
    first = orjson.loads((await pubsub.get_message(timeout=1))["data"])
    second = orjson.loads((await pubsub.get_message(timeout=1))["data"])
    assert first["items"][0]["readings"] == {"temperature_c": 70.0}
    assert second["items"][0]["readings"] == {"vibration_mm_s": 3.0}  # only the effective change
    await consumer.process_batch([msg(2, ts=T0, temperature_c=20.0)])  # changes nothing
    assert (await consumer.store.get("pump-0001"))["version"] == created + 1  # type: ignore[index]


async def test_reported_device_settings_land_in_the_twin(consumer: TelemetryConsumer) -> None:
    body = {
        "schema": 1,
        "machine_id": "motor-1",
        "ts": iso_utc(T0),
        "readings": {"current_a": 3.0},
        "reported": {"mode": "standby", "speed_setpoint_rpm": 1400},
    }
    await consumer.process_batch([BusMessage("telemetry.raw", 0, 0, b"motor-1", orjson.dumps(body), {})])
    twin = await consumer.store.get("motor-1")
    assert twin is not None and twin["reported"] == {"mode": "standby", "speed_setpoint_rpm": 1400}


def records(consumer: TelemetryConsumer) -> list[dict[str, object]]:
    return [orjson.loads(m.value) for m in consumer.bus.retained("telemetry.dlq")]  # type: ignore[attr-defined]


async def test_same_timestamp_keeps_the_first_value_in_the_twin_and_the_database(
    consumer: TelemetryConsumer, sessions
) -> None:
    # one rule for conflicting values at one instant: the first received wins, in one batch or across two
    await consumer.process_batch([msg(0, temperature_c=1.0), msg(1, temperature_c=2.0)])
    created = (await consumer.store.get("pump-0001"))["version"]  # type: ignore[index]
    await consumer.process_batch([msg(2, temperature_c=3.0)])
    twin = await consumer.store.get("pump-0001")
    assert twin is not None and twin["readings"] == {"temperature_c": 1.0} and twin["version"] == created
    async with sessions() as s:
        rows = await ReadingRepository(s).recent("pump-0001", sensor=None, start=None, end=None, limit=10)
    assert [(r.ts, r.value) for r in rows] == [(T0, 1.0)]


async def test_a_message_the_store_refuses_is_dead_lettered_and_the_batch_goes_on(
    consumer: TelemetryConsumer, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure the message itself causes (here: the Redis script refusing one machine's update, as it did
    for 2,000 reported keys) is found by halving the batch; that message goes to the DLQ with the stage."""
    apply = consumer.store.apply

    async def refuse_poison(updates, last_seen):  # type: ignore[no-untyped-def]
        if any(u.id == "poison-1" for u in updates):
            raise ResponseError("Error running script: too many results to unpack")
        return await apply(updates, last_seen)

    monkeypatch.setattr(consumer.store, "apply", refuse_poison)
    batch = [msg(i, f"pump-{i:04d}") for i in range(7)] + [msg(7, "poison-1")] + [msg(8, "pump-0100")]
    result = await consumer.process_batch(batch)
    assert (result.accepted, result.rejected) == (8, 1)
    assert {m async for m in _twin_ids(consumer)} == {f"pump-{i:04d}" for i in range(7)} | {"pump-0100"}
    (record,) = records(consumer)
    assert record["machine_id"] == "poison-1" and record["offset"] == 7 and record["code"] == "processing"
    assert "twin: ResponseError" in str(record["reason"]) and "too many results" in str(record["reason"])
    assert consumer.state.poison == 1


async def _twin_ids(consumer: TelemetryConsumer) -> AsyncIterator[str]:
    for m in await consumer.store.ids():
        yield m


async def test_an_infrastructure_failure_retries_the_batch_and_reports_a_stall(
    consumer: TelemetryConsumer, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down: nothing is dead-lettered, the same batch is retried until it succeeds; past the stall
    time the consumer says it is stalled (readiness reads this), and recovers when Redis is back."""
    apply = consumer.store.apply
    failures = {"left": 4}

    async def redis_down(updates, last_seen):  # type: ignore[no-untyped-def]
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RedisConnectionError("Connection refused")
        return await apply(updates, last_seen)

    monkeypatch.setattr(consumer.store, "apply", redis_down)
    monkeypatch.setattr("dtwin.ingest.consumer.asyncio.sleep", _no_sleep)
    consumer.stall_after_s = 0.0
    seen: list[float | None] = []
    monkeypatch.setattr(consumer, "process_batch", _spy(consumer.process_batch, consumer, seen))
    await consumer._process_until_done([msg(0)])
    assert consumer.state.retries == 4 and records(consumer) == []
    assert seen[1:5] == [pytest.approx(seen[1])] * 4 and seen[1] is not None  # stalled from the first failure
    assert consumer.state.stalled_since is None and consumer.state.last_error is None  # recovered
    assert await consumer.store.get("pump-0001") is not None


async def _no_sleep(_: float) -> None:
    return None


def _spy(process, consumer: TelemetryConsumer, seen: list[float | None]):  # type: ignore[no-untyped-def]
    async def wrapped(msgs):  # type: ignore[no-untyped-def]
        seen.append(consumer.state.stalled_since)
        return await process(msgs)

    return wrapped


async def test_sensor_names_beyond_the_type_limit_are_dead_lettered(
    sessions: async_sessionmaker[AsyncSession], redis: fakeredis.FakeAsyncRedis
) -> None:
    consumer = make_consumer(sessions, redis, Limits(max_sensors_per_type=3))
    ok = msg(0, "pump-0001", a=1.0, b=1.0)
    more = msg(1, "pump-0002", ts=T0 + timedelta(seconds=1), b=2.0, c=2.0)
    over = msg(2, "pump-0003", ts=T0 + timedelta(seconds=2), d=3.0, e=3.0)
    result = await consumer.process_batch([ok, more, over])
    assert (result.accepted, result.rejected) == (2, 1)
    (record,) = records(consumer)
    assert record["code"] == "sensor_limit" and "new: d, e" in str(record["reason"])
    # the names the type has keep flowing; the set is shared through Redis (another process sees it)
    again = await consumer.process_batch([msg(3, "pump-0003", ts=T0 + timedelta(seconds=3), a=4.0)])
    assert again.accepted == 1
    assert await redis.smembers("t:names:r:centrifugal_pump") == {b"a", b"b", b"c"}
