"""Send a rejected bus message to the dead-letter topic, with its reason and where it came from."""

from __future__ import annotations

import asyncio
from typing import Any

from dtwin.contracts.dlq import dead_letter
from dtwin.contracts.telemetry import Rejection
from dtwin.core.bus import BusMessage, TelemetryBus


async def send_to_dlq(
    bus: TelemetryBus, dlq_topic: str, m: BusMessage, rejection: Rejection, *, stage: str
) -> asyncio.Future[Any]:
    """Produce the dead letter (keyed by machine id when known) and return its delivery future."""
    record = dead_letter(
        m.value,
        rejection.reason,
        stage=stage,
        source=m.topic,
        partition=m.partition,
        offset=m.offset,
        machine_id=rejection.machine_id,
    )
    key = rejection.machine_id.encode() if rejection.machine_id else m.key
    return await bus.produce(dlq_topic, record, key=key)
