"""A record Kafka refuses for what it is (too large, invalid) must not stop the bridge: it is counted,
logged and acknowledged, while an unavailable Kafka still leaves the message unacknowledged for redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from dtwin.kit.bus import MemoryBus, Record
from dtwin_pipeline.bridge.intake import Incoming
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig


class RefusingBus(MemoryBus):
    """The in-memory bus, but the dead-letter topic refuses records (as Kafka did for a 1 MiB one)."""

    def __init__(self, error: Exception, *, at_once: bool) -> None:
        super().__init__()
        self.error = error
        self.at_once = at_once

    async def produce(
        self, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str] | None = None
    ) -> asyncio.Future[Any]:
        if topic != "telemetry.dlq":
            return await super().produce(topic, value, key=key, headers=headers)
        if self.at_once:
            raise self.error
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_exception(self.error)
        return fut


class AckRecorder:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def __call__(self, packet_id: int) -> None:
        self.acked.append(packet_id)


@pytest.mark.parametrize("at_once", [True, False])
async def test_a_refused_dead_letter_is_acknowledged_and_the_bridge_goes_on(at_once: bool) -> None:
    bridge = Bridge(BridgeConfig(), bus=RefusingBus(MessageSizeTooLargeError(), at_once=at_once))
    acks = AckRecorder()
    await bridge.forward([Incoming("plant/s1/l1/p1/telemetry", b"\x00" * 800_000, 7)], acks)
    await asyncio.sleep(0)  # the delivery callbacks
    assert acks.acked == [7] and bridge._failure is None
    assert bridge.metrics.refused._value.get() == 1  # type: ignore[attr-defined]
    assert bridge.stats.rejected == 1


async def test_an_unavailable_kafka_leaves_the_message_for_redelivery() -> None:
    bridge = Bridge(BridgeConfig(), bus=RefusingBus(KafkaConnectionError(), at_once=False))
    acks = AckRecorder()
    await bridge.forward([Incoming("plant/s1/l1/p1/telemetry", b"not json", 8)], acks)
    await asyncio.sleep(0)
    assert acks.acked == [] and isinstance(bridge._failure, KafkaConnectionError)


class RefusingBatchBus(MemoryBus):
    """Telemetry goes out in one batch future that Kafka refuses (a record in it too large), and alone
    each record but the too large one is taken."""

    async def produce_many(self, topic: str, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_exception(MessageSizeTooLargeError())
        return [fut] * len(records)

    async def produce(
        self, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str] | None = None
    ) -> asyncio.Future[Any]:
        if topic == "telemetry.raw" and b"HUGE" in value:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            fut.set_exception(MessageSizeTooLargeError())
            return fut
        return await super().produce(topic, value, key=key, headers=headers)


async def test_a_refused_batch_is_sent_record_by_record_and_only_the_refused_one_is_dropped() -> None:
    bus = RefusingBatchBus()
    bridge = Bridge(BridgeConfig(), bus=bus)
    acks = AckRecorder()
    now = datetime.now(UTC).isoformat()

    def payload(i: int, extra: str = "") -> bytes:
        body = {"schema": 1, "machine_id": f"m{i}", "ts": now, "readings": {"x": float(i)}}
        if extra:
            body["reported"] = {"note": extra}
        return orjson.dumps(body)

    batch = [
        Incoming(f"plant/s1/l1/m{i}/telemetry", payload(i, "HUGE" if i == 2 else ""), 10 + i)
        for i in range(4)
    ]
    await bridge.forward(batch, acks)
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(acks.acked) == [10, 11, 12, 13]  # all acknowledged: three stored, one refused for good
    assert bridge.metrics.refused._value.get() == 1  # type: ignore[attr-defined]
    stored = [m.key for m in bus.retained("telemetry.raw")]
    assert stored == [b"m0", b"m1", b"m3"] and bridge._failure is None
