"""The status watcher: transitions recorded once across processes, read from the in-process read model
when it is current (no Redis read per twin), from Redis otherwise."""

from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import pytest

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.twins.service import TwinService
from dtwin.twins.status import StatusWatcher
from dtwin.twins.store import TwinStore
from dtwin.twins.view import FleetView


class RecordedEvents:
    """Stands in for the change log: what the watcher records."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def record_many(self, entries: list[dict[str, Any]]) -> None:
        self.entries.extend(entries)


def update(machine_id: str, seen: datetime) -> TwinUpdate:
    return TwinUpdate(
        id=machine_id,
        machine_type="pump",
        site="s1",
        line="l1",
        ts=iso_utc(seen),
        quality="good",
        readings={"t": 1.0},
        reported={},
    )


async def watcher(store: TwinStore, events: RecordedEvents, *, view: bool) -> StatusWatcher:
    fleet = None
    if view:
        fleet = FleetView()
        fleet.load(await store.get_all(), 0)
    service = TwinService(store, expected_interval_s=1.0, view=fleet)
    return StatusWatcher(service, events)  # type: ignore[arg-type]


async def test_two_processes_record_each_transition_once_and_the_view_needs_no_redis_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = TwinStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), RedisKeys("t"))
    now = datetime.now(UTC)
    await store.apply([update("fresh", now)], last_seen=iso_utc(now))
    old = now - timedelta(seconds=30)
    await store.apply([update("quiet", old)], last_seen=iso_utc(old))
    events = RecordedEvents()
    from_view = await watcher(store, events, view=True)
    from_redis = await watcher(store, events, view=False)

    async def no_redis_scan() -> None:
        raise AssertionError("the watcher read every twin from Redis although its read model is current")

    monkeypatch.setattr(from_view.service.store, "status_fields", no_redis_scan)
    assert await from_view.scan() == 2  # new -> online, new -> stale
    assert {(e["machine_id"], e["details"]["to"]) for e in events.entries} == {
        ("fresh", "online"),
        ("quiet", "stale"),
    }
    monkeypatch.undo()
    assert await from_redis.scan() == 0  # the other process sees them claimed: nothing recorded twice
    # the view lags (it never got the status changes): a scan from it claims again, and records nothing
    assert await from_view.scan() == 0
    assert len(events.entries) == 2


async def test_without_a_current_view_it_reads_redis() -> None:
    store = TwinStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), RedisKeys("t"))
    now = datetime.now(UTC)
    await store.apply([update("m1", now)], last_seen=iso_utc(now))
    events = RecordedEvents()
    w = await watcher(store, events, view=True)
    assert w.service.view is not None
    w.service.view.invalidate()  # e.g. the change feed is resyncing
    assert await w.scan() == 1 and events.entries[0]["details"]["to"] == "online"


async def test_coming_online_reads_the_twin_only_when_the_view_shows_a_command_awaiting_placement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = TwinStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), RedisKeys("t"))
    now = datetime.now(UTC)
    await store.apply([update("plain", now), update("waiting", now)], last_seen=iso_utc(now))
    w = await watcher(store, RecordedEvents(), view=True)
    assert w.service.view is not None
    waiting = w.service.view.get("waiting")
    assert waiting is not None
    waiting["command"] = {
        "version": 1,
        "status": "awaiting_placement",
        "applied": {},
        "rejected": {},
        "ts": None,
    }
    asked: list[str] = []

    async def deliver_awaiting(machine_id: str) -> bool:
        asked.append(machine_id)
        return False

    monkeypatch.setattr(w.service, "deliver_awaiting", deliver_awaiting)
    assert await w.scan() == 2  # both new -> online
    assert asked == ["waiting"]
    # without a current view every twin that comes online is read
    w2 = await watcher(store, RecordedEvents(), view=False)
    monkeypatch.setattr(w2.service, "deliver_awaiting", deliver_awaiting)
    asked.clear()
    await w2._deliver_awaiting("plain")
    assert asked == ["plain"]
