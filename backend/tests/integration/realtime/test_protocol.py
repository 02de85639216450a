"""The WebSocket protocol against a real backend (uvicorn, real Redis and PostgreSQL): subscriptions with
filters and snapshots, sequence numbers, resume after a gap (exact replay or a fresh snapshot), slow clients
dropped without holding up fast ones, heartbeats and the maximum lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
import websockets
from websockets.asyncio.client import ClientConnection

from dtwin.config import Settings
from dtwin.contracts.changes import AnalyticsChange, TwinsMessage, TwinUpdate
from dtwin.contracts.limits import MAX_WS_MESSAGE_BYTES, MAX_WS_SUBSCRIPTIONS
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.main import create_app
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import eventually, serve_app
from tests.factories.twins import twin_update

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def update(machine_id: str, k: int, sensors: int = 1, machine_type: str = "pump") -> TwinUpdate:
    return twin_update(
        machine_id,
        at=T0 + timedelta(seconds=k),
        readings={f"x{j}": float(k) for j in range(sensors)},
        machine_type=machine_type,
    )


@asynccontextmanager
async def backend(settings: Settings) -> AsyncIterator[str]:
    async with serve_app(create_app(settings), ws_compression=settings.ws_compression) as url:
        yield url


def analytics(
    machine_id: str, health: float | None = None, score: float | None = None, strategy: str | None = None
) -> TwinsMessage:
    return TwinsMessage(
        items=[AnalyticsChange(id=machine_id, health=health, anomaly_score=score, strategy=strategy)]
    )


async def recv(ws: ClientConnection, *types: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next message of one of `types`. Heartbeats are skipped, and so are updates carrying only status
    changes: the status watcher reports a twin going stale a few seconds after its last telemetry, which
    under load can fall in the middle of a test (a real change, but not the one these tests are about)."""
    while True:
        msg: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] in types:
            return msg
        if msg["type"] == "update" and all(i.get("kind") == "status" for i in msg["items"]):
            continue
        assert msg["type"] == "heartbeat", msg


async def close_of(ws: ClientConnection) -> tuple[int, str, int]:
    """Read until the server closes the connection; its close code and reason, and the updates read."""
    updates = 0
    try:
        while True:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            updates += msg["type"] == "update"
    except websockets.ConnectionClosed as closed:
        frame = closed.rcvd
    if frame is None:
        raise AssertionError("the server closed without a close frame")
    return frame.code, frame.reason, updates


async def recv_change(ws: ClientConnection, first: dict[str, Any] | None = None) -> dict[str, Any]:
    """The next `update` with status items left out (`first`, if given, is considered first). The status
    watcher's first pass after startup reports every twin going online, and under load that can come after
    a snapshot: a real change, but not the one these tests are about."""
    msg = first if first is not None else await recv(ws, "update")
    while True:
        items = [i for i in msg["items"] if i.get("kind") != "status"]
        if items:
            return {**msg, "items": items}
        msg = await recv(ws, "update")


async def subscribe(ws: ClientConnection, **body: Any) -> dict[str, Any]:

    await ws.send(orjson.dumps({"type": "subscribe", **body}).decode())
    assert (await recv(ws, "subscribed", "error"))["type"] == "subscribed"
    return await recv(ws, "snapshot", "update")


@pytest.fixture
def store_for(real_redis: aioredis.Redis):  # type: ignore[no-untyped-def]
    def make(settings: Settings) -> TwinStore:
        return TwinStore(real_redis, RedisKeys(settings.redis_prefix), settings.ws_replay_entries)

    return make


async def test_snapshot_then_filtered_updates_with_growing_seq(
    real_settings: Settings, store_for: Callable[[Settings], TwinStore], admin_headers: dict[str, str]
) -> None:
    store: TwinStore = store_for(real_settings)
    now = iso_utc(datetime.now(UTC))
    await store.apply([update("pump-1", 1), update("fan-1", 1, machine_type="fan")], now)
    async with (
        backend(real_settings) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
    ):
        hello = await recv(ws, "hello")
        assert hello["seq"] >= 1 and hello["heartbeat_s"] > 0
        snap = await subscribe(ws, sub="pumps", filter={"machine_type": "pump"})
        assert snap["type"] == "snapshot" and snap["reason"] == "subscribe"
        assert [t["id"] for t in snap["items"]] == ["pump-1"]
        assert snap["items"][0]["status"] == "online" and snap["items"][0]["readings"] == {"x0": 1.0}
        await store.apply([update("fan-1", 2, machine_type="fan")], now)  # filtered out
        await store.apply([update("pump-1", 3)], now)
        got = await recv_change(ws)
        assert got["sub"] == "pumps" and got["seq"] > snap["seq"] and not got["replay"]
        assert [(i["kind"], i["id"], i["readings"]) for i in got["items"]] == [
            ("reported", "pump-1", {"x0": 3.0})
        ]
        # analytics-only or desired changes arrive for the same filter (placement comes from the read model)
        await store.stream.emit(analytics("pump-1", health=42.0))
        assert (await recv_change(ws))["items"][0]["health"] == 42.0

        await ws.send('{"type": "subscribe", "sub": ""}')
        err = await recv(ws, "error")
        assert err["title"] == "invalid message" and "sub" in err["detail"]
        await ws.send('{"type": "ping", "id": 7}')
        assert await recv(ws, "pong") == {"type": "pong", "id": 7}
        await ws.send('{"type": "unsubscribe", "sub": "pumps"}')
        assert await recv(ws, "unsubscribed") == {"type": "unsubscribed", "sub": "pumps"}


async def test_resume_replays_exactly_the_missed_changes(
    real_settings: Settings, store_for: Callable[[Settings], TwinStore], admin_headers: dict[str, str]
) -> None:
    store: TwinStore = store_for(real_settings)
    now = iso_utc(datetime.now(UTC))
    await store.apply([update("pump-1", 1), update("pump-2", 1)], now)
    async with backend(real_settings) as url:
        async with websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws:
            await recv(ws, "hello")
            snap = await subscribe(ws, sub="p1", filter={"machine_ids": ["pump-1"]})
            last = snap["seq"]
        # missed while disconnected: three changes of pump-1, two of pump-2 (not subscribed)
        for k in range(2, 5):
            await store.apply([update("pump-1", k)], now)
            await store.apply([update("pump-2", k)], now)
        async with websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws:
            await recv(ws, "hello")
            first = await subscribe(ws, sub="p1", filter={"machine_ids": ["pump-1"]}, resume_after=last)
            replayed = [await recv_change(ws, first)] + [await recv_change(ws) for _ in range(2)]
            assert all(m["type"] == "update" and m["replay"] for m in replayed)
            assert [m["items"][0]["readings"]["x0"] for m in replayed] == [2.0, 3.0, 4.0]
            assert [m["seq"] for m in replayed] == sorted(m["seq"] for m in replayed)
            # then live again
            await store.apply([update("pump-1", 5)], now)
            live = await recv_change(ws)
            assert not live["replay"] and live["items"][0]["readings"] == {"x0": 5.0}
            assert live["seq"] > replayed[-1]["seq"]


async def test_fields_slim_partial_changes_live_and_replayed(
    real_settings: Settings, store_for: Callable[[Settings], TwinStore], admin_headers: dict[str, str]
) -> None:
    store: TwinStore = store_for(real_settings)
    now = iso_utc(datetime.now(UTC))
    await store.apply([update("pump-1", 1, sensors=3)], now)
    slim = {"sub": "fleet", "fields": ["last_seen", "health"]}
    async with backend(real_settings) as url:
        async with websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws:
            await recv(ws, "hello")
            await ws.send(orjson.dumps({"type": "subscribe", "stream": "alerts", **slim}).decode())
            err = await recv(ws, "error")
            assert err["title"] == "invalid message" and "fields" in err["detail"]
            snap = await subscribe(ws, **slim)
            assert snap["items"][0]["readings"] == {"x0": 1.0, "x1": 1.0, "x2": 1.0}  # snapshots stay whole
            await store.apply([update("pump-1", 2, sensors=3)], now)
            got = (await recv_change(ws))["items"]
            assert got == [
                {"kind": "reported", "id": "pump-1", "version": got[0]["version"], "last_seen": now}
            ]
            await store.stream.emit(analytics("pump-1", strategy="stable"))  # health null: asked for
            assert (await recv_change(ws))["items"] == [{"kind": "analytics", "id": "pump-1", "health": None}]
            await store.stream.emit(analytics("pump-1", health=41.0, strategy="monitor"))
            assert (await recv_change(ws))["items"] == [{"kind": "analytics", "id": "pump-1", "health": 41.0}]
            await store.apply([update("pump-1", 3, sensors=3)], now)
            last = (await recv_change(ws))["seq"]
        await store.apply([update("pump-1", 4, sensors=3)], now)
        async with websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws:
            await recv(ws, "hello")
            replayed = await recv_change(ws, await subscribe(ws, **slim, resume_after=last))
            assert replayed["replay"] and set(replayed["items"][0]) == {"kind", "id", "version", "last_seen"}


async def test_resume_after_an_unretained_gap_sends_a_fresh_snapshot(
    real_settings: Settings,
    store_for: Callable[[Settings], TwinStore],
    admin_headers: dict[str, str],
) -> None:
    settings = real_settings.model_copy(update={"ws_replay_entries": 10})
    store: TwinStore = store_for(settings)
    now = iso_utc(datetime.now(UTC))
    await store.apply([update("pump-1", 1)], now)
    async with backend(settings) as url:
        async with websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws:
            await recv(ws, "hello")
            last = (await subscribe(ws, sub="all"))["seq"]
        for k in range(2, 30):  # 28 changes, the log keeps 10
            await store.apply([update("pump-1", k)], now)
        async with websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws:
            await recv(ws, "hello")
            snap = await subscribe(ws, sub="all", resume_after=last)
            assert snap["type"] == "snapshot" and snap["reason"] == "gap"
            assert [t["readings"] for t in snap["items"]] == [{"x0": 29.0}]


async def test_slow_client_is_dropped_without_holding_up_a_fast_one(
    real_settings: Settings, store_for: Callable[[Settings], TwinStore], admin_headers: dict[str, str]
) -> None:
    settings = real_settings.model_copy(update={"ws_queue_size": 8})
    store = store_for(settings)
    now = iso_utc(datetime.now(UTC))
    batches = 40  # 40 messages of ~0.5 MB: far more than the socket buffers and the slow client's queue
    app = create_app(settings)
    async with (
        serve_app(app) as url,
        # no compression: the repetitive test payload would otherwise shrink a hundredfold; no keepalive
        # pings: their answers would queue behind the data this client leaves unread, and it would give up
        websockets.connect(
            f"ws://{url}/ws",
            max_queue=1,
            max_size=None,
            compression=None,
            ping_interval=None,
            additional_headers=admin_headers,
        ) as slow,
        websockets.connect(f"ws://{url}/ws", max_size=None, additional_headers=admin_headers) as fast,
    ):
        for ws in (slow, fast):
            await recv(ws, "hello")
            await subscribe(ws, sub="all")
        hub = app.state.realtime.hub
        assert len(hub.clients) == 2
        # from here on the slow client reads nothing until the server has dropped it
        fast_seen = 0

        async def read_fast() -> None:
            nonlocal fast_seen
            while fast_seen < batches:
                msg = await recv(fast, "update", timeout=30)
                fast_seen += 1 if len(msg["items"]) == 500 else 0

        async def dropped() -> bool:
            return len(hub.clients) == 1

        async def drain_slow_once_dropped() -> tuple[int, str, int]:
            # The close frame queues behind the megabytes already on their way to the slow client, so it
            # arrives only once the client reads them, and the server waits a bounded time for that
            # (docs/api.md): read as soon as the server has let go of this client.
            await eventually(dropped, timeout=60, interval=0.05, what="slow client dropped")
            return await close_of(slow)

        reader = asyncio.create_task(read_fast())
        drainer = asyncio.create_task(drain_slow_once_dropped())
        for k in range(batches):
            await store.apply([update(f"m-{i:03d}", k + 2, sensors=80) for i in range(500)], now)
        await asyncio.wait_for(reader, 60)
        assert fast_seen == batches  # everything, though the slow client read nothing until it was dropped
        # the slow one was cut off: it got part of the stream, then close code 4008 with its reason
        code, reason, slow_updates = await asyncio.wait_for(drainer, 60)
        assert code == 4008
        assert "too slow" in reason
        assert slow_updates < batches
        assert len(hub.clients) == 1


async def test_heartbeats_and_maximum_lifetime(
    real_settings: Settings, admin_headers: dict[str, str]
) -> None:
    settings = real_settings.model_copy(update={"ws_heartbeat_s": 0.2, "ws_max_lifetime_s": 1.0})
    async with (
        backend(settings) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
    ):
        await recv(ws, "hello")
        beat = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert beat["type"] == "heartbeat" and "seq" in beat
        code, _, _ = await close_of(ws)
        assert code == 4000


@pytest.mark.parametrize("compression", [False, True])
async def test_compression_is_negotiated_only_when_configured(
    real_settings: Settings, admin_headers: dict[str, str], compression: bool
) -> None:
    """A client offering permessage-deflate (browsers and `websockets` always do) gets it only with
    DTWIN_WS_COMPRESSION; either way the stream works."""
    settings = real_settings.model_copy(update={"ws_compression": compression})
    async with (
        backend(settings) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
    ):
        accepted = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in accepted) is compression
        assert [type(e).__name__ for e in ws.protocol.extensions] == (
            ["PerMessageDeflate"] if compression else []
        )
        await recv(ws, "hello")
        await subscribe(ws, sub="all")


async def test_a_client_cannot_hold_unbounded_subscriptions_or_send_huge_messages(
    real_settings: Settings, admin_headers: dict[str, str]
) -> None:
    async with (
        backend(real_settings) as url,
        websockets.connect(f"ws://{url}/ws", max_size=None, additional_headers=admin_headers) as ws,
    ):
        await recv(ws, "hello")
        for k in range(MAX_WS_SUBSCRIPTIONS):
            await subscribe(ws, sub=f"s{k}", filter={"machine_ids": [f"m{k}"]})
        await ws.send(orjson.dumps({"type": "subscribe", "sub": "one-more"}).decode())
        error = await recv(ws, "error")
        assert error["sub"] == "one-more" and error["title"] == "too many subscriptions", error
        await subscribe(ws, sub="s0", filter={"machine_ids": ["m99"]})  # replacing one is fine
        await ws.send(orjson.dumps({"type": "ping", "id": 8}).decode())
        assert (await recv(ws, "pong"))["id"] == 8
        await ws.send("x" * (MAX_WS_MESSAGE_BYTES + 1))
        code, _, _ = await close_of(ws)
        assert code == 1009  # message too big: the connection ends, the server goes on
    async with (
        backend(real_settings) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
    ):
        assert (await recv(ws, "hello"))["type"] == "hello"


async def test_alarms_stream_snapshot_and_transitions(
    real_settings: Settings, admin_headers: dict[str, str], uid: str
) -> None:
    """The `alarms` stream: a snapshot of the open alarms, then each transition (raised, acknowledged) as it
    is committed, filtered by machine."""
    from dtwin.alarms.service import AlarmService, Raise
    from dtwin.core.change_stream import ChangeStream
    from dtwin.core.db import create_engine, create_sessionmaker

    machine = f"a{uid}"
    engine = create_engine(real_settings.database_url)
    sessions = create_sessionmaker(engine)
    redis = aioredis.Redis.from_url(real_settings.redis_url or "")
    changes = ChangeStream(redis, RedisKeys(real_settings.redis_prefix))

    def raise_(condition: str) -> Raise:
        return Raise(machine, condition, "threshold", "high", T0, f"{condition} on {machine}", 1.0)

    try:
        async with sessions() as session:
            await AlarmService(session, changes=changes).apply([raise_("hi:x")], [])
        async with (
            backend(real_settings) as url,
            websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
        ):
            await recv(ws, "hello")
            snap = await subscribe(ws, sub="al", stream="alarms", filter={"machine_ids": [machine]})
            assert [(a["condition"], a["state"]) for a in snap["items"]] == [("hi:x", "unack_active")]
            async with sessions() as session:
                await AlarmService(session, changes=changes).apply([raise_("lo:y")], [])
            got = (await recv(ws, "update"))["items"]
            assert [(a["condition"], a["transition"]) for a in got] == [("lo:y", "raised")]
            async with sessions() as session:
                await AlarmService(session, changes=changes).acknowledge(got[0]["id"], "user:x", None)
            got = (await recv(ws, "update"))["items"]
            assert [(a["state"], a["acked_by"]) for a in got] == [("ack_active", "user:x")]
    finally:
        await redis.aclose()
        await engine.dispose()
