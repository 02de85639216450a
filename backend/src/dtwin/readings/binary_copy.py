"""PostgreSQL's binary COPY format for `reading_rows` (WIDE_COLUMNS: text, timestamptz, int4, float8[], text,
text[] or NULL), written for the whole batch at once: the values of every row go through numpy in one pass,
and what repeats from row to row (a machine's id, an instant, a sensor set's array header, a quality) is
encoded once. asyncpg's generic record encoder spends ~10 µs per row on this shape, most of it on the
float8[] (per element type checks), which was 4x the server's own work for the COPY (docs/decisions.md).

The format: https://www.postgresql.org/docs/current/sql-copy.html (Binary Format) and, for the arrays,
`array_send` in src/backend/utils/adt/arrayfuncs.c: ndim, has-nulls flag, element type oid, then per
dimension its length and lower bound, then each element as a length-prefixed value."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, header extension length
TRAILER = struct.pack(">h", -1)
FLOAT8_OID, TEXT_OID = 701, 25
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NULL = struct.pack(">i", -1)
_ELEMENT = np.dtype([("len", ">i4"), ("value", ">f8")])  # one float8 array element: its length, its value
# a row's field count and machine id, encoded, by machine (bounded: cleared when full); the fleet repeats
_MACHINES: dict[str, bytes] = {}
MACHINES_MAX = 100_000


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def _text_array(values: Sequence[str]) -> bytes:
    body = b"".join(_text(v) for v in values)
    head = struct.pack(">iiiii", 1, 0, TEXT_OID, len(values), 1)
    return struct.pack(">i", len(head) + len(body)) + head + body


def encode_reading_rows(records: Sequence[tuple[Any, ...]]) -> bytes:
    """The rows (machine_id, ts, set_id, values, quality, qualities) as one binary COPY stream. `ts` must be
    timezone-aware; `values` non-empty."""
    counts = [len(r[3]) for r in records]
    total = sum(counts)
    elements = np.empty(total, dtype=_ELEMENT)
    elements["len"] = 8
    elements["value"] = np.fromiter(chain.from_iterable(r[3] for r in records), dtype=np.float64, count=total)
    packed = memoryview(elements.tobytes())
    machines = _MACHINES
    if len(machines) > MACHINES_MAX:
        machines.clear()
    instants: dict[datetime, bytes] = {}
    sets: dict[tuple[int, int], bytes] = {}
    qualities: dict[str, bytes] = {}
    parts: list[bytes | memoryview] = [HEADER]
    at = 0
    for (machine_id, ts, set_id, _, quality, per_sensor), n in zip(records, counts, strict=True):
        head = machines.get(machine_id)
        if head is None:  # the field count, then the machine id
            head = machines[machine_id] = b"\x00\x06" + _text(machine_id)
        when = instants.get(ts)
        if when is None:
            when = instants[ts] = struct.pack(">iq", 8, (ts - PG_EPOCH) // _US)
        array = sets.get((set_id, n))
        if array is None:  # the set id, then the float8[] up to its elements
            array = sets[(set_id, n)] = struct.pack(
                ">iii" + "iiiii", 4, set_id, 20 + 12 * n, 1, 0, FLOAT8_OID, n, 1
            )
        q = qualities.get(quality)
        if q is None:
            q = qualities[quality] = _text(quality)
        end = at + 12 * n
        parts += (
            head,
            when,
            array,
            packed[at:end],
            q,
            _NULL if per_sensor is None else _text_array(per_sensor),
        )
        at = end
    parts.append(TRAILER)
    return b"".join(parts)
