import asyncio

from dtwin.realtime.hub import Client


def test_slow_client_is_marked_dropped_and_gets_close_sentinel() -> None:
    c = Client(asyncio.Queue(3 + 1))
    for i in range(3):
        c.offer(f"m{i}")
    assert not c.dropped
    c.offer("m3")
    c.offer("m4")
    assert c.dropped
    assert c.queue.qsize() == 1 and c.queue.get_nowait() is None
