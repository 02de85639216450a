"""Dead-letter records: what was rejected, why, and where it came from. Written by the bridge and the
consumer to `telemetry.dlq`. A record is bounded whatever was sent: it keeps the first
`Limits.dlq_payload_bytes` of the payload (UTF-8 text, or base64 when it is not text) with the payload's full
size and SHA-256, so a 5 MB message cannot make its own dead letter too large for the topic."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from dtwin.contracts.limits import DEFAULT_LIMITS
from dtwin.contracts.telemetry import iso_utc

MAX_REASON_CHARS = 1000
MAX_SOURCE_CHARS = 300


def dead_letter(
    raw: bytes,
    reason: str,
    *,
    stage: str,
    source: str,
    partition: int | None = None,
    offset: int | None = None,
    machine_id: str | None = None,
    code: str = "invalid",
    keep_bytes: int = DEFAULT_LIMITS.dlq_payload_bytes,
) -> bytes:
    kept = raw[:keep_bytes]
    record: dict[str, Any] = {
        "reason": reason[:MAX_REASON_CHARS],
        "code": code,
        "stage": stage,
        "source": source[:MAX_SOURCE_CHARS],
        "partition": partition,
        "offset": offset,
        "machine_id": machine_id,
        "rejected_at": iso_utc(datetime.now(UTC)),
        "payload_bytes": len(raw),
        "payload_sha256": hashlib.sha256(raw).hexdigest(),
        "payload_truncated": len(kept) < len(raw),
    }
    text = _utf8_prefix(kept, whole=len(kept) == len(raw))
    if text is not None:
        record["payload"] = text
        record["payload_encoding"] = "utf-8"
    else:
        record["payload"] = base64.b64encode(kept).decode("ascii")
        record["payload_encoding"] = "base64"
    return orjson.dumps(record)


def _utf8_prefix(kept: bytes, *, whole: bool) -> str | None:
    """`kept` as text if it is UTF-8, allowing a character cut at the end of a truncated prefix."""
    for cut in range(1 if whole else 4):
        try:
            return kept[: len(kept) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
