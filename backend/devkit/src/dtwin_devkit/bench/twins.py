"""`make bench` (twins part): fleet list and filter latency over 10,000 twins in a real Redis, through the
same service the API uses. Prints p50/p99 of repeated calls and appends them to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.main import create_app
from dtwin.twins.query import parse_comparison
from dtwin.twins.service import TwinFilter, TwinService
from dtwin.twins.store import TwinStore
from dtwin_devkit.bench.pipeline import percentile
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.servers import running
from dtwin_devkit.testing import serve_app

TYPES = ["centrifugal_pump", "conveyor", "industrial_fan", "boiler", "chiller"]


CASES: dict[str, tuple[dict[str, str | list[str]], TwinFilter]] = {
    "list, first 100 by id": ({"sort": "id"}, TwinFilter()),
    "filter site + reported.sensor_0>5000, by -last_seen": (
        {"site": "site-1", "where": ["reported.sensor_0>5000"], "sort": "-last_seen"},
        TwinFilter(site="site-1", where=(parse_comparison("reported.sensor_0>5000"),)),
    ),
    "filter machine_type + status online": (
        {"machine_type": "boiler", "status": "online", "sort": "id"},
        TwinFilter(machine_type="boiler", status="online"),
    ),
}


async def bench(url: str, n: int, repeat: int, tmp: Path) -> dict[str, tuple[float, float, float, int]]:
    """Per case: (HTTP p50, HTTP p99, Redis-only p50, matches). HTTP is `GET /api/v1/twins` on a running
    backend (uvicorn, real Redis, its in-process read model); Redis-only is the same query answered by
    reading and decoding every twin hash (what the API falls back to while its read model is not current)."""
    redis = aioredis.Redis.from_url(url)
    prefix = f"bench{int(time.time())}"
    store = TwinStore(redis, RedisKeys(prefix))
    now = iso_utc(datetime.now(UTC))
    updates = [
        TwinUpdate(
            id=f"m-{i:05d}",
            machine_type=TYPES[i % 5],
            site=f"site-{i % 3}",
            line=f"line-{i % 5}",
            ts=now,
            quality="good",
            readings={f"sensor_{j}": float(i + j) for j in range(8)},
            reported={"mode": "on"},
        )
        for i in range(n)
    ]
    for k in range(0, n, 1000):
        await store.apply(updates[k : k + 1000], last_seen=now)
    settings = Settings(
        redis_url=url,
        redis_prefix=prefix,
        database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        frontend_dist=None,
        scoring_enabled=False,
        auto_rebuild=False,
        log_level="warning",
        twin_expected_interval_s=3600.0,  # the twins stay "online" through the run
        # thousands of anonymous calls a minute from one address: a limit this high is never reached, but
        # the limiter still runs, so its cost (a moving-window hit in Redis) stays in the figures
        rate_limit_read="100000000/minute",
    )
    out: dict[str, tuple[float, float, float, int]] = {}
    fallback = TwinService(store, expected_interval_s=3600.0)

    async with serve_app(create_app(settings)) as base, httpx.AsyncClient(base_url=f"http://{base}") as http:
        for name, (params, flt) in CASES.items():
            times, direct = [], []
            count = 0
            for _ in range(2):  # warm-up (first-request imports and caches), not measured
                await http.get("/api/v1/twins", params={**params, "limit": "100"})
            for _ in range(repeat):
                t = time.perf_counter()
                r = await http.get("/api/v1/twins", params={**params, "limit": "100"})
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                count = r.json()["count"]
            for _ in range(max(3, repeat // 4)):
                t = time.perf_counter()
                await fallback.list(flt, sort=str(params["sort"]), limit=100)
                direct.append((time.perf_counter() - t) * 1000)
            out[name] = (statistics.median(times), percentile(times, 0.99), statistics.median(direct), count)
    await redis.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--twins", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with running("redis") as servers, tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(bench(servers["redis"].url, args.twins, args.repeat, Path(tmp)))
    lines = [
        f"### Fleet list/filter latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine_description()}. {args.twins:,} twins (8 sensors each) in a real Redis; "
        f"`GET /api/v1/twins?limit=100` over HTTP on a running backend (uvicorn; answered from its "
        f"in-process read model), {args.repeat} calls per case; for comparison the same query answered by "
        "reading every hash from Redis (the fallback while the read model is not current). "
        "Target (issue 5): < 50 ms.",
        "",
        "| query | matches | HTTP p50 ms | HTTP p99 ms | Redis-only p50 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {count:,} | {p50:,.1f} | {p99:,.1f} | {direct:,.0f} |"
        for name, (p50, p99, direct, count) in results.items()
    ]
    lines.append("")
    block = "\n".join(lines)
    publish(block, args.out)


if __name__ == "__main__":
    main()
