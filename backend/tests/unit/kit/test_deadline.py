"""`Deadline`: a call that answers in time returns its result; one that does not raises `NoAnswer` (an
infrastructure failure) and is left running, and while it runs no further call is started; cancelling the
caller cancels the call."""

import asyncio

import pytest

from dtwin.kit.deadline import Deadline, NoAnswer
from dtwin.kit.failures import is_infrastructure


async def test_an_answer_in_time_is_returned() -> None:
    async def quick() -> int:
        return 42

    assert await Deadline(1.0, "db").run(quick()) == 42


async def test_an_error_in_time_is_raised_as_it_is() -> None:
    async def refused() -> None:
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        await Deadline(1.0, "db").run(refused())


async def test_no_answer_leaves_the_call_running_and_starts_no_other() -> None:
    d = Deadline(0.05, "db")
    release = asyncio.Event()
    finished: list[str] = []

    async def hung(name: str) -> None:
        await release.wait()
        finished.append(name)

    with pytest.raises(NoAnswer) as err:
        await d.run(hung("first"))
    assert is_infrastructure(err.value)
    assert d.waiting_s is not None and d.late_calls == 1
    with pytest.raises(NoAnswer, match="made"):
        await d.run(hung("second"))  # refused at once, never started
    release.set()
    for _ in range(50):
        if d.waiting_s is None:
            break
        await asyncio.sleep(0.01)
    assert finished == ["first"]  # the late call completed; the second was never run
    assert d.waiting_s is None
    assert await d.run(hung("third")) is None  # answering again
    assert finished == ["first", "third"]


async def test_cancelling_the_caller_cancels_the_call() -> None:
    d = Deadline(10.0, "db")
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    caller = asyncio.create_task(d.run(slow()))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.wait_for(cancelled.wait(), 1.0)
