"""PollPacer: a busy consumer waits between polls (its batches grow), a light or late one never does."""

from __future__ import annotations

import pytest

from dtwin.ingest.pacing import PollPacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cycles(pacer: PollPacer, clock: Clock, busy_s: float, n: int, gap_s: float = 0.0) -> list[float]:
    """`n` poll cycles of `busy_s` of work each (plus `gap_s` the poll itself waited for messages), sleeping
    whatever the pacer asks; returns the waits."""
    waits = []
    for _ in range(n):
        clock.now += gap_s
        pacer.polled()
        clock.now += busy_s
        wait = pacer.wait_s()
        waits.append(wait)
        clock.now += wait
    return waits


def test_a_lightly_loaded_consumer_polls_at_once() -> None:
    clock = Clock()
    pacer = PollPacer(0.25, clock=clock)
    # 10 ms of work, then the poll waits ~90 ms for messages: busy a tenth of the time
    waits = cycles(pacer, clock, busy_s=0.01, n=200, gap_s=0.09)
    assert max(waits) == 0.0
    assert pacer.load == pytest.approx(0.1, abs=0.01)


def test_a_saturated_consumer_waits_up_to_the_most_between_polls() -> None:
    clock = Clock()
    pacer = PollPacer(0.25, clock=clock)
    # messages always waiting and 40 ms of work a batch: without pacing it would be busy all the time
    waits = cycles(pacer, clock, busy_s=0.04, n=5)
    assert waits[0] == 0.0  # no load known yet
    waits = cycles(pacer, clock, busy_s=0.04, n=300)
    # it settles where the floor equals the cycle: busy 40 of T ms and floor 0.25 * (40/T - 0.3) / 0.7
    floor = pacer.floor_s
    assert 0.04 < floor < 0.25
    assert waits[-1] == pytest.approx(floor - 0.04, abs=1e-3)
    assert pacer.load == pytest.approx(0.04 / floor, rel=0.02)


def test_a_batch_longer_than_the_floor_is_followed_by_a_poll_at_once() -> None:
    clock = Clock()
    pacer = PollPacer(0.25, clock=clock)
    waits = cycles(pacer, clock, busy_s=0.3, n=50)  # behind: every batch takes longer than the most wait
    assert pacer.load == pytest.approx(1.0, abs=1e-3)
    assert pacer.floor_s == pytest.approx(0.25, abs=1e-3)
    assert max(waits) == 0.0


def test_no_pacing_when_the_most_is_zero() -> None:
    clock = Clock()
    pacer = PollPacer(0.0, clock=clock)
    assert max(cycles(pacer, clock, busy_s=0.04, n=100)) == 0.0


async def test_the_consumer_sleeps_what_its_pacer_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run loop asks its pacer before each poll and tells it when the poll returned."""
    import asyncio

    from dtwin.ingest import consumer as consumer_module

    calls: list[str] = []
    slept: list[float] = []

    class Pacer:
        def wait_s(self) -> float:
            calls.append("wait")
            return 0.123

        def polled(self) -> None:
            calls.append("polled")

    class Bus:
        def consumer(self, topics: list[str], group: str) -> object:
            return Consumer()

    class Consumer:
        async def start(self) -> None: ...

        async def stop(self) -> None: ...

        async def getmany(self, timeout_ms: int, max_records: int) -> list[object]:
            calls.append("poll")
            if calls.count("poll") == 3:
                raise asyncio.CancelledError
            return []

    async def sleep(s: float) -> None:
        slept.append(s)

    monkeypatch.setattr(consumer_module.asyncio, "sleep", sleep)
    c = object.__new__(consumer_module.TelemetryConsumer)
    c.bus, c.topic, c.group = Bus(), "t", "g"  # type: ignore[assignment]
    c.pacer = Pacer()  # type: ignore[assignment]
    c.state = consumer_module.ConsumerState()
    c.outage = consumer_module.OutageBuffer()
    c.poll_timeout_ms, c.max_records = 10, 10

    async def flush(force: bool = False) -> bool:
        return False

    c._flush_outage = flush  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await c.run()
    assert calls == ["wait", "poll", "polled", "wait", "poll", "polled", "wait", "poll"]
    assert slept == [0.123, 0.123, 0.123]
