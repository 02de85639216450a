"""Poll pacing: the consumer polls Kafka again no sooner than a floor that grows with how busy it is.

Every batch has a fixed cost besides its per-message one (a fetch, the Redis script's call, a database
transaction, the scoring engine's pass over its state, the change-stream message each backend decodes), so a
consumer that polls the moment it is done takes many small batches exactly when it is loaded: at 50,000
readings/s on two cores the backends spent 19 CPU-µs per reading that way, and 14 with a fixed 250-ms floor
between polls (docs/decisions.md). A fixed floor costs latency at light load, where CPU is plentiful; so the
floor here is `max_wait_s` times the consumer's load: the share of the time it spent on batches (smoothed),
above `idle_below`, scaled to 0..1. A lightly loaded consumer polls at once; a saturated one at most every
`max_wait_s`. The floor never slows a consumer that is behind: a batch that takes longer than the floor
is followed by the next poll at once, and one cannot wait longer than `max_wait_s`."""

from __future__ import annotations

import time
from collections.abc import Callable


class PollPacer:
    def __init__(
        self,
        max_wait_s: float,
        *,
        idle_below: float = 0.3,
        smoothing: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait_s = max_wait_s
        self.idle_below = idle_below
        self.smoothing = smoothing
        self.clock = clock
        self.load = 0.0  # smoothed share of the time spent on batches (0..1)
        self._polled_at: float | None = None  # when the last poll returned
        self._busy_s = 0.0  # how long the work after the last poll took

    @property
    def floor_s(self) -> float:
        """The least time from one poll's return to the next poll, at the current load."""
        level = (self.load - self.idle_below) / (1.0 - self.idle_below)
        return self.max_wait_s * min(1.0, max(0.0, level))

    def wait_s(self) -> float:
        """Called when the work after a poll is done: how long to wait before polling again."""
        if self._polled_at is None or self.max_wait_s <= 0:
            return 0.0
        since = self.clock() - self._polled_at
        self._busy_s = since
        return max(0.0, self.floor_s - since)

    def polled(self) -> None:
        """Called when a poll returns (with messages or not): the cycle that ends here updates the load."""
        now = self.clock()
        if self._polled_at is not None:
            cycle = now - self._polled_at
            if cycle > 0:
                share = min(1.0, self._busy_s / cycle)
                self.load += self.smoothing * (share - self.load)
        self._polled_at = now
        self._busy_s = 0.0
