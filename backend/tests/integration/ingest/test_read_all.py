"""`KafkaBus.read_all` on a real broker: it ends at what the topic held when called, even while the topic
keeps being written to (a quiet topic never comes then), and returns no read marks."""

import asyncio

from dtwin.config import Settings
from dtwin.kit.bus import READ_MARK, KafkaBus


async def test_read_all_ends_at_its_mark_while_the_topic_is_written_to(
    real_settings: Settings, uid: str
) -> None:
    topic = f"twin.state.{uid}"
    bus = KafkaBus(real_settings.kafka_bootstrap or "")
    await bus.start()
    try:
        await bus.ensure_topics({topic: 3})
        before = [f"m-{k}".encode() for k in range(30)]
        for key in before:
            await bus.produce(topic, b'{"v": 1}', key=key)
        await bus.flush()
        stop = asyncio.Event()
        delivered: list[bytes] = []  # keys of late records, in the order the broker acknowledged them

        async def writer() -> None:  # a record every 50 ms, as spread snapshots are: never quiet
            n = 0
            while not stop.is_set():
                key = f"late-{n}".encode()
                await (await bus.produce(topic, b'{"v": 2}', key=key))
                delivered.append(key)
                n += 1
                await asyncio.sleep(0.05)

        writing = asyncio.create_task(writer())
        await asyncio.sleep(0.5)
        try:
            first = await bus.read_all(topic, timeout_s=30)  # TimeoutError unless it reaches its mark
            seen = len(delivered)
            while len(delivered) == seen:  # a record the broker holds only after the first read ended
                await asyncio.sleep(0.01)
            later = delivered[-1]
            second = await bus.read_all(topic, timeout_s=30)
        finally:
            stop.set()
            await writing
        keys = [m.key for m in first]
        assert set(before) <= set(keys)  # everything written before the call
        assert any(k.startswith(b"late-") for k in keys)  # and what was written before it, while writing
        assert not any(READ_MARK in m.headers for m in first + second)  # marks are not records
        assert later not in keys  # the first read ended at its mark
        assert later in [m.key for m in second]  # the later read ends later, past the first one's mark
    finally:
        await bus.stop()
