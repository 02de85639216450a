"""What the telemetry consumer does while PostgreSQL is out: twins stay live, the durable writes wait.

Normally a batch's readings are written to the database before its twins change in Redis, and its offsets
are committed after both. When the database cannot be reached (an infrastructure failure, `kit/failures.py`)
the consumer goes on: each batch updates the twins in Redis (and the change stream) at once and leaves its
database writes (readings, new twins in the registry, change-log entries) here, in order. Offsets are
committed only up to the first batch still waiting, per partition, so a backend that dies meanwhile leaves
the waiting messages to be consumed again (Redis ignores what it has: per-property timestamps; readings
ignore duplicates: ON CONFLICT DO NOTHING): nothing lost, nothing doubled. Retries back off from 1 s to
10 s; the buffer is bounded (`max_readings`): once full the consumer stops taking messages and reports
itself stalled until the database is back."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dtwin.contracts.changes import TwinUpdate
from dtwin.kit.bus import BusMessage
from dtwin.readings.service import Instant

TopicPartition = tuple[str, int]


@dataclass
class PendingWrite:
    """One batch's database part: its accepted messages (their readings rows are derived when written), the
    twins to register and the change-log entries. Each part is emptied once written, so a retry after a
    failure part-way starts after it."""

    items: list[Any]  # consumer.Accepted
    updates: list[TwinUpdate]
    events: list[dict[str, Any]]
    readings: int


@dataclass
class OutageBuffer:
    max_readings: int = 500_000
    retry_min_s: float = 1.0
    retry_max_s: float = 10.0
    pending: deque[PendingWrite] = field(default_factory=deque)
    readings: int = 0
    since: float | None = None  # monotonic time the outage began
    buffered_total: int = 0  # batches that ever waited here
    next_try: float = 0.0
    backoff: float = 1.0

    @property
    def active(self) -> bool:
        return bool(self.pending)

    @property
    def full(self) -> bool:
        return self.readings >= self.max_readings

    def add(self, write: PendingWrite) -> None:
        if not self.pending:
            self.since = time.monotonic()
            self.backoff = self.retry_min_s
            self.next_try = self.since + self.backoff
        self.pending.append(write)
        self.readings += write.readings
        self.buffered_total += 1

    def due(self, now: float) -> bool:
        return bool(self.pending) and now >= self.next_try

    def failed(self, now: float) -> None:
        self.backoff = min(self.backoff * 2, self.retry_max_s)
        self.next_try = now + self.backoff

    def stored(self, write: PendingWrite) -> None:
        """The write's readings are in the database (its other parts may still wait)."""
        self.readings -= write.readings
        write.readings = 0

    def pop(self) -> PendingWrite:
        write = self.pending.popleft()
        self.stored(write)
        if not self.pending:
            self.since = None
        return write

    def commit_offsets(self, consumed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The offsets that may be committed: per partition, the first message still waiting here, or the
        next one to consume when nothing of that partition waits."""
        first: dict[TopicPartition, int] = {}
        for write in self.pending:
            for a in write.items:
                m = a.msg
                tp = (m.topic, m.partition)
                if tp not in first or m.offset < first[tp]:
                    first[tp] = m.offset
        return {tp: first.get(tp, nxt) for tp, nxt in consumed.items()}


def next_offsets(messages: Iterable[BusMessage], into: dict[TopicPartition, int]) -> None:
    """Record the next offset to consume per partition after `messages`."""
    for m in messages:
        tp = (m.topic, m.partition)
        if m.offset + 1 > into.get(tp, -1):
            into[tp] = m.offset + 1


def message_instants(items: Sequence[Any]) -> list[Instant]:
    """The readings of accepted messages, one instant per message; a reading outside its sensor's physical
    range (`a.bad`, data_quality/) has quality "bad"."""
    out: list[Instant] = []
    for a in items:
        t, bad = a.t, a.bad
        out.append(
            Instant(t.machine_id, t.ts, t.quality, t.readings, dict.fromkeys(bad, "bad") if bad else None)
        )
    return out
