"""What a telemetry update publishes on the change stream (real Redis, the apply Lua script): a `reported`
change with the readings that changed, and the machine's placement only when it is news (a new twin, or a
machine that moved), so the 1 Hz stream does not repeat it for every reading."""

from __future__ import annotations

import random
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


async def test_per_property_times_match_a_reference_model_over_random_updates(
    real_redis: aioredis.Redis, uid: str
) -> None:
    """apply.lua against a plain model of its rule over 400 random batches: late updates, repeated
    timestamps, property subsets, merged updates whose older values carry their own time. The script skips
    reading property times when an update is newer than the twin and carries no older value; this checks
    that shortcut never writes what the rule would not (each property: its newest value, the first received
    of equal times)."""
    rng = random.Random(7)
    store = TwinStore(real_redis, RedisKeys(f"t{uid}"))
    model: dict[str, dict[str, tuple[str, float | int]]] = {}  # machine -> "r:x"/"p:x" -> (time, value)
    newest: dict[str, str] = {}
    now = iso_utc(datetime.now(UTC))
    seq = await store.stream.current_seq()
    for n in range(400):
        batch: list[TwinUpdate] = []
        won: dict[str, dict[str, float | int]] = {}  # machine -> the readings this batch changed
        for machine in rng.sample(["m1", "m2", "m3"], rng.randint(1, 3)):
            base = newest.get(machine)
            k = rng.choice([-3, -1, 0, 1, 1, 1, 2]) if base else 0
            at = (datetime.fromisoformat(base) if base else T0) + timedelta(seconds=k)
            ts = iso_utc(at)
            readings = {s: float(n) for s in rng.sample(["a", "b", "c", "d"], rng.randint(1, 4))}
            reported = {s: n for s in rng.sample(["x", "y"], rng.randint(0, 2))}
            times = {  # a merged update: some values older than its ts
                f"{ns}:{s}": iso_utc(at - timedelta(seconds=rng.randint(1, 3)))
                for ns, values in (("r", readings), ("p", reported))
                for s in values
                if rng.random() < 0.2
            }
            batch.append(
                TwinUpdate(
                    id=machine,
                    machine_type="pump",
                    site="s1",
                    line="l1",
                    ts=ts,
                    quality="good",
                    readings=readings,
                    reported=reported,
                    times=times,
                )
            )
            props = model.setdefault(machine, {})
            for ns, values in (("r", readings), ("p", reported)):
                for s, v in values.items():
                    key = f"{ns}:{s}"
                    pts = times.get(key, ts)
                    if key not in props or props[key][0] < pts:
                        props[key] = (pts, v)
                        if ns == "r":
                            won.setdefault(machine, {})[s] = v
            newest[machine] = max(newest.get(machine, ts), ts)
        await store.apply(batch, now)
        # what the batch published: each twin's changed readings, exactly those that won
        published = {}
        for msg in await store.stream.after(seq, 100) or []:
            seq = msg.seq
            for item in msg.items:
                published[item.id] = msgspec.to_builtins(item).get("readings", {})
        assert {m: r for m, r in published.items() if r} == won
    for machine, props in model.items():
        raw = {
            k.decode(): v.decode() for k, v in (await real_redis.hgetall(store.keys.twin(machine))).items()
        }
        twin = await store.get(machine)
        assert twin is not None and twin["ts"] == newest[machine]
        assert twin["readings"] == {k[2:]: v for k, (_, v) in props.items() if k[0] == "r"}
        assert twin["reported"] == {k[2:]: v for k, (_, v) in props.items() if k[0] == "p"}
        assert {k: raw[f"t{k}"] for k in props} == {k: t for k, (t, _) in props.items()}


async def test_values_are_stored_and_published_as_sent(real_redis: aioredis.Redis, uid: str) -> None:
    """A reading's value goes through the twin as the consumer encoded it: every digit a float has, both in
    the twin and in the change published (the history keeps them all too), on the usual path and on the
    per-property one (a late update)."""
    store = TwinStore(real_redis, RedisKeys(f"t{uid}"))
    now = iso_utc(datetime.now(UTC))
    start = await store.stream.current_seq()
    values = {"a": 0.1 + 0.2, "b": 1e-7, "c": -0.0, "d": 123456789.12345679, "e": 2.5e300}
    await store.apply([update(1, **values)], now)
    late = {"a": 1 / 3, "f": 2 / 3}  # older than the twin: only f (new) wins
    await store.apply([update(0, **late)], now)
    twin = await store.get("pump-1")
    assert twin is not None and twin["readings"] == values | {"f": 2 / 3}
    changes = [msgspec.to_builtins(msg.items[0]) for msg in await store.stream.after(start, 10) or []]
    assert [c["readings"] for c in changes] == [values, {"f": 2 / 3}]


async def test_a_large_batch_is_published_in_messages_of_500_changes(
    real_redis: aioredis.Redis, uid: str
) -> None:
    """apply.lua writes each message from groups of items joined in one pass: a batch of 1,234 changed twins
    is published as messages of 500, 500 and 234 changes in the batch's order, each change whole; placement
    only for new twins (first batch) and moved ones (third); a late update in a batch changes nothing."""
    store = TwinStore(real_redis, RedisKeys(f"t{uid}"))
    now = iso_utc(datetime.now(UTC))
    ids = [f"m{i:04d}" for i in range(1234)]
    placements = {1: ("pump", None, "l1"), 2: (None, None, None), 3: ("pump", "s9", "l1")}
    for k, site in ((1, None), (2, None), (3, "s9")):
        start = await store.stream.current_seq()
        at = T0 + timedelta(seconds=k)
        batch = [
            twin_update(m, at=at, readings={"a": i + k / 3, "b": -i}, site=site) for i, m in enumerate(ids)
        ]
        if k > 1:
            batch[7] = twin_update(ids[7], at=T0, readings={"a": 0.5}, site=None)  # late: nothing changes
        changed = [u.id for u in batch if k == 1 or u.id != ids[7]]
        assert await store.apply(batch, now) == changed
        messages = await store.stream.after(start, 10) or []
        assert [len(msg.items) for msg in messages] == [500, 500, len(changed) - 1000]
        assert [msg.seq for msg in messages] == [start + 1, start + 2, start + 3]
        items = [msgspec.to_builtins(item) for msg in messages for item in msg.items]
        assert [c["id"] for c in items] == changed
        assert [c["readings"] for c in items] == [
            {"a": i + k / 3, "b": -i} for i in range(1234) if ids[i] in changed
        ]
        assert all(c["ts"] == iso_utc(at) and c["last_seen"] == now for c in items)
        assert {(c.get("machine_type"), c.get("site"), c.get("line")) for c in items} == {placements[k]}
