"""Spreading periodic per-key work over its period. A backend meets all its machines in its first batch; work
done "every N seconds per machine" timed from that first sight then comes due for every machine in the same
batch, once per period (a burst that delays that batch, and nothing in between). Back-dating a key's first
timestamp by a stable share of the period taken from the key spreads it evenly instead."""

from __future__ import annotations

import zlib
from collections.abc import Container


def phase(key: str) -> float:
    """A stable share in [0, 1) from `key` (CRC-32, the same in every process and run)."""
    return zlib.crc32(key.encode()) / 2**32


def first_done(key: str, now: float, every_s: float) -> float:
    """When periodic work done for `key` for the first time at `now` counts as done: back-dated by its
    phase of the period, so its next turn comes after (1 - phase) periods."""
    return now - every_s * phase(key)


def done_at(done_before: Container[str], key: str, now: float, every_s: float) -> float:
    """When periodic work done for `key` at `now` counts as done: `now`, or back-dated by its phase
    (`first_done`) when `key` is not in `done_before` (its first time)."""
    return now if key in done_before else first_done(key, now, every_s)
