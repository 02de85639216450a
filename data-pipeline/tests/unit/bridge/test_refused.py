"""A record Kafka refuses for what it is (too large, invalid) must not stop the bridge: it is counted,
logged and acknowledged, while an unavailable Kafka still leaves the message unacknowledged for redelivery."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from dtwin.kit.bus import MemoryBus
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
        self._client = self

    def ack(self, packet_id: int, qos: int) -> None:
        self.acked.append(packet_id)


@pytest.mark.parametrize("at_once", [True, False])
async def test_a_refused_dead_letter_is_acknowledged_and_the_bridge_goes_on(at_once: bool) -> None:
    bridge = Bridge(BridgeConfig(), bus=RefusingBus(MessageSizeTooLargeError(), at_once=at_once))
    client = AckRecorder()
    bridge._client = client  # type: ignore[assignment]
    await bridge.handle("plant/s1/l1/p1/telemetry", b"\x00" * 800_000, packet_id=7)
    await asyncio.sleep(0)  # the delivery callbacks
    assert client.acked == [7] and bridge._failure is None
    assert bridge.metrics.refused._value.get() == 1  # type: ignore[attr-defined]
    assert bridge.stats.rejected == 1


async def test_an_unavailable_kafka_leaves_the_message_for_redelivery() -> None:
    bridge = Bridge(BridgeConfig(), bus=RefusingBus(KafkaConnectionError(), at_once=False))
    client = AckRecorder()
    bridge._client = client  # type: ignore[assignment]
    await bridge.handle("plant/s1/l1/p1/telemetry", b"not json", packet_id=8)
    await asyncio.sleep(0)
    assert client.acked == [] and isinstance(bridge._failure, KafkaConnectionError)
