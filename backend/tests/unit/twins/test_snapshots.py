"""State snapshots of a fleet met in one batch are spread over their period afterwards (kit/spread.py)."""

import fakeredis
import orjson
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


async def test_a_snapshot_is_the_twins_hash_as_a_json_object_and_a_missing_twin_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis encodes the snapshot (twins/store.py SNAPSHOT_LUA): every field and value as stored, whatever
    they hold, in chunks; a twin that does not exist publishes nothing."""
    from dtwin.twins import store as store_module

    monkeypatch.setattr(store_module, "SNAPSHOT_CHUNK", 2)
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    odd = {
        "id": "pump-1",
        "version": "7",
        "r:temp_c": "61.25",
        "attributes": '{"note":"a/b \\"q\\" ümlaut\\n"}',
    }
    await redis.hset("t:twin:pump-1", mapping=odd)
    await redis.hset("t:twin:pump-3", mapping={"id": "pump-3"})
    bus = MemoryBus()
    snapshots = StateSnapshots(bus, "twin.state", TwinStore(redis, RedisKeys("t")))
    await snapshots.publish(["pump-1", "pump-2", "pump-3"])
    records = {m.key: orjson.loads(m.value) for m in bus.retained("twin.state")}
    assert records == {b"pump-1": odd, b"pump-3": {"id": "pump-3"}}
