"""The consumer while the database is out (ingest/outage.py): twins stay live, readings wait in order and
are written when it is back, offsets are committed only up to the first waiting message, a full buffer
stops the consumer, and a message the database refuses is still dead-lettered after the outage."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import fakeredis
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.topics import RedisKeys
from dtwin.ingest import consumer as consumer_module
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.ingest.outage import OutageBuffer
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.service import store_instants
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import eventually

from .test_consumer import T0, msg


def make(
    sessions: async_sessionmaker[AsyncSession], max_readings: int = 500_000, db_timeout_s: float = 10.0
) -> TelemetryConsumer:
    return TelemetryConsumer(
        MemoryBus(),
        sessions,
        TwinStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), RedisKeys("t")),
        topic="telemetry.raw",
        dlq_topic="telemetry.dlq",
        group="g",
        outage=OutageBuffer(max_readings=max_readings, retry_min_s=0.0, retry_max_s=0.0),
        db_timeout_s=db_timeout_s,
    )


class Database:
    """Switches the consumer's readings writes between down (connection refused) and up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.up = True
        real = consumer_module.store_instants

        async def store(sessions: Any, rows: Any) -> None:
            if not self.up:
                raise ConnectionRefusedError("connect call failed ('127.0.0.1', 5432)")
            await real(sessions, rows)

        monkeypatch.setattr(consumer_module, "store_instants", store)


async def rows(sessions: async_sessionmaker[AsyncSession], machine: str = "pump-0001") -> int:
    async with sessions() as s:
        return await ReadingRepository(s).count(machine)


def at(k: int) -> Any:
    return T0 + timedelta(seconds=k)


async def test_twins_stay_live_and_readings_wait_until_the_database_is_back(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make(sessions)
    db = Database(monkeypatch)
    await c.process_batch([msg(0, ts=at(0), temperature_c=50.0)])
    db.up = False
    await c.process_batch([msg(1, ts=at(1), temperature_c=51.0), msg(2, ts=at(2), temperature_c=52.0)])
    await c.process_batch([msg(3, ts=at(3), temperature_c=53.0)])
    twin = await c.store.get("pump-0001")
    assert twin is not None and twin["readings"] == {"temperature_c": 53.0}  # live all along
    assert await rows(sessions) == 1
    assert c.outage.active and c.outage.readings == 3
    # offsets: committed up to the first message still waiting, not beyond
    assert c.outage.commit_offsets({("telemetry.raw", 0): 4}) == {("telemetry.raw", 0): 1}
    assert not await c._flush_outage(force=True)  # still down: nothing written, nothing lost
    assert c.outage.readings == 3

    db.up = True
    assert await c._flush_outage(force=True)
    assert await rows(sessions) == 4 and not c.outage.active
    assert c.outage.commit_offsets({("telemetry.raw", 0): 4}) == {("telemetry.raw", 0): 4}
    assert c.state.outage_readings == 0
    # the same messages again (a backend that died in the outage): no duplicates anywhere
    await c.process_batch([msg(1, ts=at(1), temperature_c=51.0), msg(3, ts=at(3), temperature_c=53.0)])
    assert await rows(sessions) == 4


async def test_a_hung_database_is_an_outage_not_a_frozen_consumer(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that accepts the write and answers nothing (stopped, stuck on its disk): past the deadline
    the batch counts as an outage (twins live, the writes wait), the hung write is left running rather than
    cancelled, and no further write is started while it hangs. When the database answers again the late
    write lands and the retry writes the same rows: idempotent, nothing doubled."""
    c = make(sessions, db_timeout_s=0.2)
    resume = asyncio.Event()
    calls = 0
    real = consumer_module.store_instants

    async def hanging(sessions_: Any, rows_: Any) -> None:
        nonlocal calls
        calls += 1
        await resume.wait()
        await real(sessions_, rows_)

    monkeypatch.setattr(consumer_module, "store_instants", hanging)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await c.process_batch([msg(0, ts=at(0), temperature_c=50.0), msg(1, ts=at(1), temperature_c=51.0)])
    await c.process_batch([msg(2, ts=at(2), temperature_c=52.0)])
    assert loop.time() - started < 2.0  # the deadline, not the hang, decided
    twin = await c.store.get("pump-0001")
    assert twin is not None and twin["readings"] == {"temperature_c": 52.0}  # live all along
    assert c.outage.active and c.outage.readings == 3
    assert not await c._flush_outage(force=True)  # the first write still hangs: no second one started
    assert calls == 1 and c.db.waiting_s is not None
    resume.set()

    async def answered() -> bool:
        return c.db.waiting_s is None

    await eventually(answered, what="the late write answered")
    assert await rows(sessions) == 2  # the late write landed
    assert await c._flush_outage(force=True)
    assert await rows(sessions) == 3 and not c.outage.active


async def test_the_change_log_and_new_twins_wait_too(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dtwin.twins.events import TwinEventLog

    c = make(sessions)
    c.events = TwinEventLog(sessions)
    db = Database(monkeypatch)
    db.up = False

    async def log_down(entries: Any) -> None:
        if not db.up:
            raise ConnectionRefusedError("database down")

    real_record = c.events.record_many
    monkeypatch.setattr(c.events, "record_many", lambda e: log_down(e) if not db.up else real_record(e))
    body = {"schema": 1, "machine_id": "m-1", "ts": at(0).isoformat(), "readings": {"x": 1.0}}
    body["reported"] = {"mode": "on"}
    await c.process_batch([BusMessage("telemetry.raw", 0, 0, b"m-1", orjson.dumps(body), {})])
    waiting = c.outage.pending[0]
    assert waiting.events, "the reported change's change-log entry waits with the readings"
    db.up = True
    assert await c._flush_outage(force=True)
    page = await c.events.page("m-1", kinds=None, start=None, end=None, before_id=None, limit=10)
    assert [e.kind for e in page] == ["reported", "settings"]  # newest first


async def test_a_full_buffer_stops_the_consumer_until_the_database_is_back(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make(sessions, max_readings=1000)
    db = Database(monkeypatch)
    db.up = False
    await c.process_batch([msg(k, ts=at(k), temperature_c=float(k)) for k in range(1000)])
    assert c.outage.full
    drain = asyncio.create_task(c._drain_outage())
    await asyncio.sleep(0.05)
    assert not drain.done()  # blocked: no message is taken meanwhile
    db.up = True
    await asyncio.wait_for(drain, 5)
    assert await rows(sessions) == 1000 and not c.outage.active


async def test_a_message_the_database_refuses_after_the_outage_is_dead_lettered(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make(sessions)
    db = Database(monkeypatch)
    db.up = False
    await c.process_batch([msg(k, f"m-{k}", ts=at(k)) for k in range(6)])

    async def refuse_m3(sessions: Any, batch: Any) -> None:
        if any(i.machine_id == "m-3" for i in batch):
            raise ValueError("value out of range for the column")  # the input's fault, not the database's
        await store_instants(sessions, batch)

    monkeypatch.setattr(consumer_module, "store_instants", refuse_m3)
    assert await c._flush_outage(force=True)
    stored = [await rows(sessions, f"m-{k}") for k in range(6)]
    assert stored == [1, 1, 1, 0, 1, 1]
    dead = [orjson.loads(m.value) for m in c.bus.retained("telemetry.dlq")]  # type: ignore[attr-defined]
    assert [d["machine_id"] for d in dead] == ["m-3"] and "could not be stored" in dead[0]["reason"]
