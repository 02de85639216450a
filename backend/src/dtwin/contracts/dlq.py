"""Dead-letter records: what was rejected, why, and where it came from. Written by the bridge and the
consumer to `telemetry.dlq`; the raw payload is kept whole (base64 when it is not UTF-8)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from dtwin.contracts.telemetry import iso_utc


def dead_letter(
    raw: bytes,
    reason: str,
    *,
    stage: str,
    source: str,
    partition: int | None = None,
    offset: int | None = None,
    machine_id: str | None = None,
) -> bytes:
    record: dict[str, Any] = {
        "reason": reason,
        "stage": stage,
        "source": source,
        "partition": partition,
        "offset": offset,
        "machine_id": machine_id,
        "rejected_at": iso_utc(datetime.now(UTC)),
    }
    try:
        record["payload"] = raw.decode("utf-8")
        record["payload_encoding"] = "utf-8"
    except UnicodeDecodeError:
        record["payload"] = base64.b64encode(raw).decode("ascii")
        record["payload_encoding"] = "base64"
    return orjson.dumps(record)
