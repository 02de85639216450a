"""The bus across a Kafka broker restart (Tansu on S3 storage, the durable form the chaos suite's
`kafka-restart` uses): the producer and the group consumer reconnect by themselves, nothing committed is read
again and nothing produced is lost."""

import asyncio

from dtwin.kit.bus import KafkaBus
from dtwin_devkit.chaos.stack import start_tansu_again, stop_tansu
from dtwin_devkit.servers import start_tansu


async def drain(bus: KafkaBus, group: str, want: int) -> list[bytes]:
    """Read `want` records as `group` (committing each batch), then half a second more."""
    consumer = bus.consumer(["t"], group)
    await consumer.start()
    got: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while len(got) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            got += [m.value for m in batch]
            if batch:
                await consumer.commit()
        got += [m.value for m in await consumer.getmany(timeout_ms=500, max_records=500)]
    finally:
        await consumer.stop()
    return got


async def test_records_and_committed_offsets_survive_a_broker_restart() -> None:
    server = await asyncio.to_thread(start_tansu, "s3")
    try:
        bus = KafkaBus(server.url)
        await bus.start()
        await bus.ensure_topics({"t": 3})
        for i in range(300):
            await bus.produce("t", str(i).encode(), key=str(i % 7).encode())
        await bus.flush()
        first = await drain(bus, "g", 300)
        await asyncio.to_thread(stop_tansu, server)
        await asyncio.to_thread(start_tansu_again, server)
        for i in range(300, 500):  # the same producer, reconnected
            await bus.produce("t", str(i).encode(), key=str(i % 7).encode())
        await bus.flush()
        second = await drain(bus, "g", 200)  # from the committed offsets
        everything = await drain(bus, "fresh", 500)  # a new group: from the beginning
        await bus.stop()
    finally:
        await asyncio.to_thread(server.stop)
    assert sorted(map(int, first)) == list(range(300))
    assert sorted(map(int, second)) == list(range(300, 500))
    assert sorted(map(int, everything)) == list(range(500))
