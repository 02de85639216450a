"""Two backend processes behind one Redis: WebSocket clients of either receive the same stream."""

import asyncio
import contextlib
from datetime import UTC, datetime

import orjson
import websockets

from dtwin.config import Settings
from dtwin.core.bus import KafkaBus
from dtwin.devtools.testing import eventually, serve_app
from dtwin.main import create_app


async def collect(
    url: str, want: set[str], seen: set[str], stream: list[tuple[int, str]], ready: asyncio.Event
) -> None:
    async with websockets.connect(f"ws://{url}/ws") as ws:
        hello = orjson.loads(await ws.recv())
        assert hello["type"] == "hello"
        sub = {"type": "subscribe", "sub": "fans", "filter": {"machine_ids": sorted(want)}}
        await ws.send(orjson.dumps(sub).decode())
        assert orjson.loads(await ws.recv())["type"] == "subscribed"
        assert orjson.loads(await ws.recv())["type"] == "snapshot"
        ready.set()
        while not want <= seen:
            msg = orjson.loads(await ws.recv())
            if msg["type"] == "update":
                seen.update(u["id"] for u in msg["items"])
                stream.extend((msg["seq"], u["id"]) for u in msg["items"])


async def test_both_backends_deliver_updates_consumed_by_either(real_settings: Settings, uid: str) -> None:
    machines = {f"fan-{uid}-{k}" for k in range(12)}
    app_a, app_b = create_app(real_settings), create_app(real_settings)
    async with serve_app(app_a) as url_a, serve_app(app_b) as url_b:
        seen_a: set[str] = set()
        seen_b: set[str] = set()
        stream_a: list[tuple[int, str]] = []
        stream_b: list[tuple[int, str]] = []
        ready_a, ready_b = asyncio.Event(), asyncio.Event()
        clients = [
            asyncio.create_task(collect(url_a, machines, seen_a, stream_a, ready_a)),
            asyncio.create_task(collect(url_b, machines, seen_b, stream_b, ready_b)),
        ]
        await asyncio.wait_for(asyncio.gather(ready_a.wait(), ready_b.wait()), 10)
        bus = KafkaBus(real_settings.kafka_bootstrap or "")
        await bus.start()
        try:
            now = datetime.now(UTC).isoformat()
            for m in sorted(machines):
                await bus.produce(
                    real_settings.topic_telemetry,
                    orjson.dumps({"schema": 1, "machine_id": m, "ts": now, "readings": {"speed_rpm": 900.0}}),
                    key=m.encode(),
                )
            await bus.flush()
            await asyncio.wait_for(asyncio.gather(*clients), 45)
        finally:
            for c in clients:
                c.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*clients, return_exceptions=True)
            await bus.stop()

        # batches finish (registry, snapshots, change log) after their updates went out: poll the counters
        async def consumed() -> int:
            n = app_a.state.consumer.state.messages + app_b.state.consumer.state.messages
            return n if n >= len(machines) else 0

        await eventually(consumed, timeout=20, what="both consumers' message counts")
    assert seen_a == machines and seen_b == machines
    # the same stream: the same changes under the same sequence numbers, in the same order
    assert stream_a == stream_b
    assert [seq for seq, _ in stream_a] == sorted(seq for seq, _ in stream_a)
