"""Filters and cursor pagination over 10,000 twins in a real Redis."""

from datetime import UTC, datetime

import redis.asyncio as aioredis

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.topics import RedisKeys
from dtwin.twins.query import parse_comparison
from dtwin.twins.service import TwinFilter, TwinService
from dtwin.twins.store import TwinStore

N = 10_000
TYPES = ["centrifugal_pump", "conveyor", "industrial_fan", "boiler"]


async def test_filters_and_pages_over_ten_thousand_twins(real_redis: aioredis.Redis, uid: str) -> None:
    store = TwinStore(real_redis, RedisKeys(f"q{uid}"))
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    updates = [
        TwinUpdate(
            id=f"m-{i:05d}",
            machine_type=TYPES[i % 4],
            site=f"site-{i % 3}",
            line=f"line-{i % 5}",
            ts=now,
            quality="good",
            readings={"temperature_c": float(i % 100)},
        )
        for i in range(N)
    ]
    for k in range(0, N, 1000):
        assert len(await store.apply(updates[k : k + 1000], last_seen=now)) == 1000
    service = TwinService(store)

    flt = TwinFilter(
        machine_type="conveyor", site="site-1", where=(parse_comparison("reported.temperature_c>80"),)
    )
    want = sorted(f"m-{i:05d}" for i in range(N) if i % 4 == 1 and i % 3 == 1 and i % 100 > 80)
    got: list[str] = []
    cursor = None
    while True:
        page = await service.list(flt, sort="id", limit=97, cursor=cursor)
        assert page.count == len(want)
        got.extend(t.id for t in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert got == want

    hot = await service.list(TwinFilter(status="online", line="line-4"), sort="-id", limit=10)
    assert hot.count == N // 5
    assert [t.id for t in hot.items] == [f"m-{i:05d}" for i in range(N - 1, -1, -1) if i % 5 == 4][:10]
