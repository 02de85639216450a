"""Calls to a backing service that must answer in time, never cancelled.

A server that refuses connections fails fast and the caller's outage handling takes over. A server that hangs
(stopped, stuck on its disk, behind a partition that drops packets) accepts the connection and answers
nothing: without a deadline every write waits with it, and the consumer freezes the live twins behind it.
`Deadline.run` waits `timeout_s` for a call; past that it raises `NoAnswer` (a `TimeoutError`, so an
infrastructure failure for `kit.failures`) and leaves the call running rather than cancelling it: cancelling
a database driver mid-statement can leave its connection half-used in the pool, and the writes this guards
are idempotent, so one that completes late and is written again on the retry does no harm. While that late
call has not finished, the next `run` raises `NoAnswer` at once: at most one call per `Deadline` waits on a
hung server, so a long hang cannot pile up connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

from dtwin.kit.failures import describe

log = structlog.get_logger(__name__)

T = TypeVar("T")


class NoAnswer(TimeoutError):
    """The service did not answer within the deadline."""


class Deadline:
    def __init__(self, timeout_s: float, what: str) -> None:
        self.timeout_s = timeout_s
        self.what = what
        self._late: asyncio.Future[Any] | None = None
        self._late_since = 0.0
        self.late_calls = 0  # calls that ran past the deadline, ever

    @property
    def waiting_s(self) -> float | None:
        """How long a call that ran past the deadline has been waiting (None: none is)."""
        if self._late is None or self._late.done():
            return None
        return time.monotonic() - self._late_since

    async def run(self, call: Awaitable[T]) -> T:
        waiting = self.waiting_s
        if waiting is not None:
            if asyncio.iscoroutine(call):
                call.close()  # never started: no "was never awaited" warning
            raise NoAnswer(f"{self.what}: no answer to a call made {waiting:.0f} s ago")
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        except asyncio.CancelledError:
            task.cancel()  # the caller is going away (shutdown): the call goes with it
            raise
        if task in done:
            return task.result()
        self._late, self._late_since = task, time.monotonic()
        self.late_calls += 1
        task.add_done_callback(self._answered_late)
        raise NoAnswer(f"{self.what}: no answer within {self.timeout_s:g} s")

    def _answered_late(self, task: asyncio.Future[Any]) -> None:
        waited = round(time.monotonic() - self._late_since, 1)
        if task.cancelled():
            log.warning("late_call_cancelled", what=self.what, waited_s=waited)
            return
        exc = task.exception()
        if exc is None:
            log.info("late_call_answered", what=self.what, waited_s=waited)
        else:
            log.warning("late_call_failed", what=self.what, waited_s=waited, error=describe(exc))
