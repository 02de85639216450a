"""Under load the bridge hands MQTT's messages to Kafka at most once per `forward_interval_s` (fewer, larger
record batches: the broker stores and serves each batch as a unit), while a message after a quiet spell goes
at once; nothing is lost or reordered either way."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace

from dtwin.kit.bus import MemoryBus
from dtwin_pipeline.bridge.intake import Incoming
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig

INTERVAL = 0.3  # wide, so that a loaded test machine cannot blur the two behaviours


def message(n: int) -> Incoming:
    return Incoming(f"plant/s1/l1/m{n}/telemetry", b"{}", n)


async def test_passes_under_load_are_an_interval_apart_and_a_quiet_message_goes_at_once() -> None:
    loop = asyncio.get_running_loop()
    bridge = Bridge(BridgeConfig(forward_interval_s=INTERVAL), bus=MemoryBus())
    passes: list[tuple[float, list[int]]] = []

    async def forward(batch: list[Incoming], done: object) -> None:
        passes.append((loop.time(), [m.packet_id or 0 for m in batch]))

    bridge.forward = forward  # type: ignore[method-assign]
    task = asyncio.create_task(bridge._forwarding(SimpleNamespace(done=None)))  # type: ignore[arg-type]
    try:
        sent_at = loop.time()
        bridge._received([message(0)])
        while not passes:
            await asyncio.sleep(0.005)
        assert passes[0][1] == [0]
        assert passes[0][0] - sent_at < INTERVAL  # the first message did not wait for an interval
        n = 1
        end = loop.time() + 4 * INTERVAL
        while loop.time() < end:  # a read every 10 ms
            bridge._received([message(n)])
            n += 1
            await asyncio.sleep(0.01)
        await asyncio.sleep(2 * INTERVAL)  # the last pass
        starts = [t for t, _ in passes]
        assert all(b - a >= INTERVAL - 0.002 for a, b in itertools.pairwise(starts)), starts
        assert len(passes) <= 7 < n  # ~5 passes carried the ~120 reads
        assert [i for _, ids in passes for i in ids] == list(range(n))  # every message, in order
    finally:
        task.cancel()


async def test_half_the_receive_maximum_waiting_goes_without_waiting_out_the_interval() -> None:
    """A backlog drains at the broker's pace: it sends no more than the Receive Maximum unacknowledged, so a
    pass that waited out the interval with that much in hand would only cap the drain."""
    loop = asyncio.get_running_loop()
    bridge = Bridge(BridgeConfig(forward_interval_s=10.0, receive_maximum=100), bus=MemoryBus())
    passes: list[list[int]] = []

    async def forward(batch: list[Incoming], done: object) -> None:
        passes.append([m.packet_id or 0 for m in batch])

    bridge.forward = forward  # type: ignore[method-assign]
    task = asyncio.create_task(bridge._forwarding(SimpleNamespace(done=None)))  # type: ignore[arg-type]
    try:
        bridge._received([message(0)])
        while not passes:
            await asyncio.sleep(0.005)
        started = loop.time()
        bridge._received([message(n) for n in range(1, 30)])  # under half: waits for the interval
        await asyncio.sleep(0.2)
        assert len(passes) == 1
        bridge._received([message(n) for n in range(30, 60)])  # 59 waiting: half of 100 reached
        while len(passes) < 2:
            await asyncio.sleep(0.005)
        assert loop.time() - started < 5.0  # long before the 10-s interval
        assert passes == [[0], list(range(1, 60))]
    finally:
        task.cancel()
