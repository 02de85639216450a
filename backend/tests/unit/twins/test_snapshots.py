"""State snapshots of a fleet met in one batch are spread over their period afterwards (kit/spread.py)."""

import fakeredis
import pytest

from dtwin.contracts.topics import RedisKeys
from dtwin.kit.bus import MemoryBus
from dtwin.twins import durable
from dtwin.twins.durable import StateSnapshots
from dtwin.twins.store import TwinStore


async def test_a_fleet_met_at_once_is_snapshotted_over_the_period_not_in_one_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    ids = [f"pump-{k:04d}" for k in range(400)]
    for m in ids:
        await redis.hset(f"t:twin:{m}", mapping={"id": m, "version": "1"})
    bus = MemoryBus()
    snapshots = StateSnapshots(bus, "twin.state", TwinStore(redis, RedisKeys("t")), every_s=10.0)
    now = [1000.0]
    monkeypatch.setattr(durable.time, "monotonic", lambda: now[0])
    published: list[int] = []
    for second in range(31):  # one batch a second, every twin changed in each
        now[0] = 1000.0 + second
        before = len(bus.retained("twin.state"))
        await snapshots.after_batch(ids)
        published.append(len(bus.retained("twin.state")) - before)
    assert published[0] == 400  # the first sight snapshots every twin
    later = published[1:]
    assert sum(later) == 3 * 400  # each twin once per 10 s afterwards
    assert max(later) < 100  # spread: about 40 a second, never the whole fleet in one batch
