"""The WebSocket `series` stream against a real backend (uvicorn, PostgreSQL, Redis): a chart's window
downsampled on the server for its pixel width, then new readings reduced per pixel column, a restart with a
snapshot on resume, and errors for unknown machines and bad specs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import websockets

from dtwin.config import Settings
from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.readings.repository import ReadingRepository
from dtwin.twins.store import TwinStore
from tests.factories.twins import twin_update
from tests.integration.realtime.test_protocol import backend, recv, store_for, subscribe

__all__ = ["store_for"]  # the fixture, shared with the protocol tests

# Ten minutes ago, on a whole minute: a live window from T0 on 60 pixels has ~10 s pixel columns.
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)


def reading(k: int, value: float) -> TwinUpdate:
    return twin_update("pump-1", at=T0 + timedelta(seconds=k), readings={"flow": value, "temp": 50.0})


async def stored(settings: Settings, seconds: int) -> None:
    """`seconds` readings of flow (a sawtooth 0..9) and temp, one per second from T0, in PostgreSQL."""
    engine = create_engine(settings.database_url)
    try:
        rows = [
            ("pump-1", sensor, T0 + timedelta(seconds=i), value, "good")
            for i in range(seconds)
            for sensor, value in (("flow", float(i % 10)), ("temp", 50.0))
        ]
        async with transaction(create_sessionmaker(engine)) as session:
            await ReadingRepository(session).insert_many(rows)
    finally:
        await engine.dispose()


async def test_a_chart_stream_sends_its_window_downsampled_then_reduced_live_points(
    real_settings: Settings,
    store_for: Callable[[Settings], TwinStore],
    admin_headers: dict[str, str],
) -> None:
    store: TwinStore = store_for(real_settings)
    now = iso_utc(datetime.now(UTC))
    await stored(real_settings, 600)
    await store.apply([reading(599, 9.0)], now)
    spec = {
        "machine_id": "pump-1",
        "sensors": ["flow"],
        "from": iso_utc(T0),
        "width": 60,
        "method": "minmax",
    }
    async with (
        backend(real_settings) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
    ):
        await recv(ws, "hello")
        snap = await subscribe(ws, sub="chart", stream="series", series=spec)
        assert snap["type"] == "snapshot" and snap["reason"] == "subscribe"
        (window,) = snap["items"]
        flow = window["sensors"]["flow"]
        assert list(window["sensors"]) == ["flow"] and window["source"] == "raw"
        # 600 readings on 60 pixels: at most a min/max pair per pixel, and the sawtooth's extremes kept.
        assert flow["raw_count"] == 600 and len(flow["t"]) <= 120
        assert min(flow["v"]) == 0.0 and max(flow["v"]) == 9.0

        # Live: new readings come as appended points, only newer than the snapshot's last point.
        await store.apply([reading(600, 4.0)], now)
        got = await recv(ws, "update")
        assert got["sub"] == "chart" and got["seq"] > snap["seq"]
        assert got["items"] == [{"sensor": "flow", "t": [iso_utc(T0 + timedelta(seconds=600))], "v": [4.0]}]

        # Rate-capped (one update per 5 s) and denser than a pixel column (~10 min on 60 px: ~10 s per
        # column): the first reading goes at once, the next seven of its column as one min/max pair.
        slow = await subscribe(ws, sub="slow", stream="series", series=spec, max_rate_hz=0.2)
        for k, value in zip(range(610, 618), (5.0, 1.0, 7.0, 3.0, 2.0, 8.0, 6.0, 4.0), strict=True):
            await store.apply([reading(k, value)], now)
        updates: list[dict[str, Any]] = []
        while True:  # until the stream has been quiet for longer than its 5 s period
            try:
                got = await recv(ws, "update", timeout=8)
            except TimeoutError:
                break
            if got["sub"] == "slow":
                updates.append(got)
        assert len(updates) >= 2, updates

        first, *rest = updates
        assert first["seq"] > slow["seq"] and [u["seq"] for u in rest] == sorted(u["seq"] for u in rest)
        assert first["items"] == [{"sensor": "flow", "t": [iso_utc(T0 + timedelta(seconds=610))], "v": [5.0]}]
        # The other seven readings over at most two pixel columns: at most a min/max pair per column and
        # update (normally one update: 4 points at most), extremes kept, in time order.
        t = [x for u in rest for x in u["items"][0]["t"]]
        v = [x for u in rest for x in u["items"][0]["v"]]
        assert len(v) <= 4 * len(rest) and len(v) < 7 and {1.0, 8.0} <= set(v)
        assert t == sorted(t) and t[0] > first["items"][0]["t"][0]

        # Resuming a chart stream restarts it from a snapshot of the window.
        again = await subscribe(ws, sub="chart", stream="series", series=spec, resume_after=1)
        assert again["sub"] == "chart" and again["reason"] == "gap"
        assert again["items"][0]["sensors"]["flow"]["raw_count"] == 600  # the stored history

        # Errors: an unknown machine, a spec without `from`, a series spec on another stream.
        await ws.send(
            orjson.dumps(
                {
                    "type": "subscribe",
                    "sub": "x",
                    "stream": "series",
                    "series": {**spec, "machine_id": "nope"},
                }
            ).decode()
        )
        err = await recv(ws, "error")
        assert err["title"] == "unknown machine" and err["sub"] == "x"
        bad = {k: v for k, v in spec.items() if k != "from"}
        await ws.send(
            orjson.dumps({"type": "subscribe", "sub": "y", "stream": "series", "series": bad}).decode()
        )
        assert "from" in (await recv(ws, "error"))["detail"]
        await ws.send(orjson.dumps({"type": "subscribe", "sub": "z", "series": spec}).decode())
        assert "series" in (await recv(ws, "error"))["detail"]
