"""Send a rejected bus message to the dead-letter topic, with its reason and where it came from."""

from __future__ import annotations

import asyncio
from typing import Any

from dtwin.contracts.dlq import dead_letter
from dtwin.contracts.limits import DEFAULT_LIMITS
from dtwin.contracts.telemetry import Rejection
from dtwin.kit.bus import BusMessage, TelemetryBus


async def send_to_dlq(
    bus: TelemetryBus,
    dlq_topic: str,
    m: BusMessage,
    rejection: Rejection,
    *,
    stage: str,
    keep_bytes: int = DEFAULT_LIMITS.dlq_payload_bytes,
) -> asyncio.Future[Any]:
    """Produce the dead letter (keyed by machine id when known) and return its delivery future. The record
    is bounded (`dead_letter`), and so is its key, whatever the message carried."""
    record = dead_letter(
        m.value,
        rejection.reason,
        stage=stage,
        source=m.topic,
        partition=m.partition,
        offset=m.offset,
        machine_id=rejection.machine_id,
        code=rejection.code,
        keep_bytes=keep_bytes,
    )
    key = rejection.machine_id.encode() if rejection.machine_id else (m.key or b"")[:256] or None
    return await bus.produce(dlq_topic, record, key=key)
