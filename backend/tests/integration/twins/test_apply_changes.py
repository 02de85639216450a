"""What a telemetry update publishes on the change stream (real Redis, the apply Lua script): a `reported`
change with the readings that changed, and the machine's placement only when it is news (a new twin, or a
machine that moved), so the 1 Hz stream does not repeat it for every reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import redis.asyncio as aioredis

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.twins.store import TwinStore
from tests.factories.twins import twin_update

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def update(k: int, site: str = "s1", **readings: float) -> TwinUpdate:
    return twin_update("pump-1", at=T0 + timedelta(seconds=k), readings=readings, site=site)


async def test_placement_is_published_for_new_and_moved_twins_only(
    real_redis: aioredis.Redis, uid: str
) -> None:
    store = TwinStore(real_redis, RedisKeys(f"t{uid}"))
    now = iso_utc(datetime.now(UTC))
    start = await store.stream.current_seq()
    await store.apply([update(1, a=1.0, b=2.0)], now)
    await store.apply([update(2, a=1.5)], now)
    await store.apply([update(3, site="s2", a=1.5)], now)  # moved; the reading did not change
    changes = [msgspec.to_builtins(msg.items[0]) for msg in await store.stream.after(start, 10) or []]
    first = changes[0]["version"]  # a new twin starts at the version floor
    assert [(c["kind"], c["version"] - first, c["readings"]) for c in changes] == [
        ("reported", 0, {"a": 1.0, "b": 2.0}),
        ("reported", 1, {"a": 1.5}),
        ("reported", 2, {"a": 1.5}),
    ]
    placement = [{k: c[k] for k in ("machine_type", "site", "line") if k in c} for c in changes]
    assert placement == [
        {"machine_type": "pump", "site": "s1", "line": "l1"},
        {},
        {"machine_type": "pump", "site": "s2", "line": "l1"},
    ]
    assert all(c["last_seen"] == now and c["quality"] == "good" and "ts" in c for c in changes)


async def test_a_twin_with_thousands_of_properties_is_applied_in_chunks(
    real_redis: aioredis.Redis, uid: str
) -> None:
    """apply.lua hands HMGET/HSET their arguments in chunks: one update with 5,000 properties (above the
    ~8,000 values Lua's unpack() takes, which stalled the consumer at ~2,000 properties) is applied whole."""
    store = TwinStore(real_redis, RedisKeys(f"t{uid}"))
    u = update(1, **{f"s{i}": float(i) for i in range(2000)})
    u.reported = {f"p{i}": i for i in range(3000)}
    changed = await store.apply([u], iso_utc(datetime.now(UTC)))
    assert changed == ["pump-1"]
    twin = await store.get("pump-1")
    assert twin is not None and len(twin["readings"]) == 2000 and len(twin["reported"]) == 3000
    assert twin["readings"]["s1999"] == 1999.0 and twin["reported"]["p2999"] == 2999
