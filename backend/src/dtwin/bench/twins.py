"""`make bench` (twins part): fleet list and filter latency over 10,000 twins in a real Redis, through the
same service the API uses. Prints p50/p99 of repeated calls and appends them to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from dtwin.bench.pipeline import machine_description, percentile
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.devtools.servers import running
from dtwin.twins.query import parse_comparison
from dtwin.twins.service import TwinFilter, TwinService
from dtwin.twins.store import TwinStore

TYPES = ["centrifugal_pump", "conveyor", "industrial_fan", "boiler", "chiller"]


async def bench(url: str, n: int, repeat: int) -> dict[str, tuple[float, float, int]]:
    redis = aioredis.Redis.from_url(url)
    store = TwinStore(redis, RedisKeys("bench"))
    now = iso_utc(datetime.now(UTC))
    updates = [
        {
            "id": f"m-{i:05d}",
            "machine_type": TYPES[i % 5],
            "site": f"site-{i % 3}",
            "line": f"line-{i % 5}",
            "ts": now,
            "quality": "good",
            "readings": {f"sensor_{j}": float(i + j) for j in range(8)},
            "reported": {"mode": "on"},
            "times": {},
        }
        for i in range(n)
    ]
    for k in range(0, n, 1000):
        await store.apply(updates[k : k + 1000], last_seen=now)
    service = TwinService(store)
    cases = {
        "list, first 100 by id": (TwinFilter(), "id"),
        "filter site + reported.sensor_0>5000, by -last_seen": (
            TwinFilter(site="site-1", where=(parse_comparison("reported.sensor_0>5000"),)),
            "-last_seen",
        ),
        "filter machine_type + status online": (TwinFilter(machine_type="boiler", status="online"), "id"),
    }
    out: dict[str, tuple[float, float, int]] = {}
    for name, (flt, sort) in cases.items():
        times = []
        count = 0
        for _ in range(repeat):
            t = time.perf_counter()
            page = await service.list(flt, sort=sort, limit=100)
            times.append((time.perf_counter() - t) * 1000)
            count = page.count
        out[name] = (statistics.median(times), percentile(times, 0.99), count)
    await redis.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--twins", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with running("redis") as servers:
        results = asyncio.run(bench(servers["redis"].url, args.twins, args.repeat))
    lines = [
        f"### Fleet list/filter latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine_description()}. {args.twins:,} twins (8 sensors each) in a real Redis; "
        f"`TwinService.list` as the API calls it, {args.repeat} calls per case, page of 100. "
        "Target (issue 5): < 50 ms.",
        "",
        "| query | matches | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {count:,} | {p50:,.0f} | {p99:,.0f} |" for name, (p50, p99, count) in results.items()
    ]
    lines.append("")
    block = "\n".join(lines)
    print(block)
    with args.out.open("a") as f:
        f.write("\n" + block)


if __name__ == "__main__":
    main()
