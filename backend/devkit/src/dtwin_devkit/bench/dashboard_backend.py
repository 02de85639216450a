"""The backend the dashboard benchmark measures against (`make bench-frontend`, Playwright's web server).

`dtwin serve` with the embedded simulator (``--machines``, 1 Hz) and the in-process bus, on throwaway
PostgreSQL and Redis servers started here (free ports, removed on exit). Not `dtwin demo`: its embedded
stores (fakeredis running the twin store's Lua in Python, SQLite behind the ORM) take a whole core for
1,000 machines and fall behind real time, and on this 2-core machine that core is taken from the
browser being measured. With the real servers the backend keeps up using about half a core.

History (``--history-days N``, 0: none): before the backend starts, N days of daily rollups (the N days
before today, UTC midnight buckets) for every machine the simulator will run and each of its catalogue
sensors are bulk-loaded into ``readings_1d``, values around each sensor's operating range, 86,400 readings
a day (1 Hz). The simulator's machine ids are deterministic (dtwin_pipeline's ``plan_fleet``), so the load
needs no running backend and is over before /healthz answers: nothing the spec measures runs beside it.
Those days are read from the rollup: the refresher starts its watermarks at the first raw reading, which
is after every loaded day. Once the backend runs, a check (in a thread) waits until the simulator's
machines are registered and the refresher has a ``1d`` watermark, then asks the series endpoint for one
machine's year and prints its source and points per sensor.

    python -m dtwin_devkit.bench.dashboard_backend --port 8765 --machines 1000 --history-days 365

Stops on SIGTERM or Ctrl-C (Playwright's graceful shutdown), servers included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import httpx
import numpy as np
from sqlalchemy.engine import make_url

from dtwin.contracts.catalogue import catalogue_type
from dtwin.core.migrate import upgrade_sync
from dtwin_devkit.servers import env_for, running, stop_processes
from dtwin_pipeline.simulator.fleet import Machine, SimulatorConfig, plan_fleet

DTWIN = str(Path(sys.executable).parent / "dtwin")
COLUMNS = ("machine_id", "sensor", "bucket", "min", "max", "sum", "count", "first", "last")
PER_DAY = 86_400  # readings of one sensor in a day at 1 Hz
CHECK_TIMEOUT_S = 300.0

Row = tuple[str, str, datetime, float, float, float, int, float, float]


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _say(message: str) -> None:
    print(f"[dashboard_backend] {message}", flush=True)


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def planned_machines(machines: int) -> list[Machine]:
    """The machines the embedded simulator runs with ``DTWIN_SIMULATOR_MACHINES=machines`` (no scenario)."""
    return plan_fleet(SimulatorConfig(machines=machines))


def daily_rows(machines: list[Machine], days: int, today: datetime, seed: int = 7) -> Iterator[Row]:
    """Daily rollup rows of the `days` days before `today` (midnight UTC), in primary-key order: per
    sensor a level in the middle of its operating range [lo, hi] with a slow yearly swing and day-to-day
    noise, each day's min and max a band around its mean (inside the physical range), first and last in
    between."""
    rng = np.random.default_rng(seed)
    buckets = [today - timedelta(days=days - i) for i in range(days)]
    phase = 2 * math.pi * np.arange(days) / 365.0
    for m in sorted(machines, key=lambda m: m.id):
        for s in sorted(catalogue_type(m.type).sensors, key=lambda s: s.name):
            span = s.hi - s.lo
            level = s.lo + span * rng.uniform(0.35, 0.65)
            mean = (
                level
                + 0.08 * span * np.sin(phase + rng.uniform(0, 2 * math.pi))
                + 0.03 * span * rng.standard_normal(days)
            )
            lo = mean - span * rng.uniform(0.1, 0.3, days)
            hi = mean + span * rng.uniform(0.1, 0.3, days)
            if s.phys_lo is not None:
                lo = np.maximum(lo, s.phys_lo)
            if s.phys_hi is not None:
                hi = np.minimum(hi, s.phys_hi)
            mean = np.clip(mean, lo, hi)
            first = np.clip(mean + 0.05 * span * rng.standard_normal(days), lo, hi)
            last = np.clip(mean + 0.05 * span * rng.standard_normal(days), lo, hi)
            yield from zip(
                [m.id] * days,
                [s.name] * days,
                buckets,
                lo.tolist(),
                hi.tolist(),
                (mean * PER_DAY).tolist(),
                [PER_DAY] * days,
                first.tolist(),
                last.tolist(),
                strict=True,
            )


async def load_history(database_url: str, machines: list[Machine], days: int) -> dict[str, Any]:
    """Bulk-load `days` days of daily rollups of `machines` into readings_1d (COPY), then VACUUM ANALYZE it
    (as a long-standing table would be); returns what was loaded and how long it took."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = time.perf_counter()
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        status = await conn.copy_records_to_table(
            "readings_1d", records=daily_rows(machines, days, today), columns=list(COLUMNS)
        )
        copied = time.perf_counter() - t0
        await conn.execute("VACUUM ANALYZE readings_1d")
        rows = int(status.split()[-1])
    finally:
        await conn.close()
    series = sum(len(catalogue_type(m.type).sensors) for m in machines)
    return {
        "days": days,
        "machines": len(machines),
        "series": series,
        "rows": rows,
        "first_day": (today - timedelta(days=days)).date().isoformat(),
        "last_day": (today - timedelta(days=1)).date().isoformat(),
        "copy_s": round(copied, 2),
        "load_s": round(time.perf_counter() - t0, 2),
    }


async def _poll(what: str, probe: Callable[[], Awaitable[Any]], deadline: float) -> Any:
    """Call the coroutine function `probe` every second until it returns something truthy."""
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(1.0)
    raise TimeoutError(f"{what}: not within {CHECK_TIMEOUT_S:.0f} s")


async def check_history(
    database_url: str, base_url: str, machines: list[Machine], days: int
) -> dict[str, Any]:
    """Once the backend runs: the simulator registered the planned machines, the refresher has a 1d
    watermark (after every loaded day), and the series endpoint answers a year of one machine from `1d`."""
    deadline = time.monotonic() + CHECK_TIMEOUT_S
    planned = {m.id for m in machines}
    conn = await asyncpg.connect(_dsn(database_url))
    try:

        async def registered() -> set[str] | None:
            ids = {r["id"] for r in await conn.fetch("SELECT id FROM twins")}
            return ids if len(ids) >= len(planned) else None

        ids = await _poll("machines registered", registered, deadline)

        async def watermark() -> datetime | None:
            mark: datetime | None = await conn.fetchval(
                "SELECT watermark FROM rollup_state WHERE name = '1d'"
            )
            return mark

        mark = await _poll("rollup watermark 1d", watermark, deadline)
    finally:
        await conn.close()
    missing = sorted(planned - ids)
    result: dict[str, Any] = {
        "registered": len(ids),
        "not_registered": missing[:5],
        "watermark_1d": str(mark),
    }
    password = os.environ.get("DTWIN_BOOTSTRAP_ADMIN_PASSWORD")
    if not password:
        result["series"] = "not checked: DTWIN_BOOTSTRAP_ADMIN_PASSWORD is not set"
        return result
    machine = sorted(planned)[0]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        token = await client.post("/api/v1/auth/token", data={"username": "admin", "password": password})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        now = datetime.now(UTC)
        params: dict[str, str | int] = {
            "from": (now - timedelta(days=365)).isoformat(),  # a year at width 800: 1d buckets
            "to": now.isoformat(),
            "width": 800,
        }
        t0 = time.perf_counter()
        answer = await client.get(f"/api/v1/twins/{machine}/series", params=params)
        took = time.perf_counter() - t0
        answer.raise_for_status()
    body = answer.json()
    points = [len(s["t"]) for s in body["sensors"].values()]
    result["series"] = {
        "machine": machine,
        "source": body["source"],
        "sensors": len(points),
        "points_per_sensor": [min(points, default=0), max(points, default=0)],
        "ms": round(took * 1000, 1),
    }
    return result


def _check_in_background(database_url: str, base_url: str, machines: list[Machine], days: int) -> None:
    def run() -> None:
        try:
            result = asyncio.run(check_history(database_url, base_url, machines, days))
        except Exception as exc:  # a failed check is reported, the backend keeps serving
            _say(f"history check FAILED: {type(exc).__name__}: {exc}")
            return
        series = result.get("series")
        ok = (
            isinstance(series, dict)
            and series["source"] == "1d"
            and series["points_per_sensor"][0] >= min(days, 365)
        )
        verdict = "ok" if ok else "NOT as expected (wanted source 1d and a point per loaded day)"
        _say(f"history check {verdict}: {json.dumps(result)}")

    threading.Thread(target=run, name="history-check", daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument(
        "--history-days",
        type=int,
        default=365,
        help="days of daily rollups loaded for every machine before the backend starts (0: none)",
    )
    parser.add_argument(
        "--history-report", type=Path, default=None, help="write what was loaded (JSON) to this file"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    with running("postgres", "redis") as servers:
        env = {
            **os.environ,
            **env_for(servers),
            "DTWIN_HOST": args.host,
            "DTWIN_PORT": str(args.port),
            "DTWIN_SIMULATOR_MACHINES": str(args.machines),
            "DTWIN_LOG_LEVEL": os.environ.get("DTWIN_LOG_LEVEL", "warning"),
        }
        for var in ("DTWIN_KAFKA_BOOTSTRAP", "DTWIN_SIMULATOR_SCENARIO", "DTWIN_PLANT_TZ"):
            env.pop(var, None)  # the plant zone: UTC, the loaded buckets' midnight
        database_url = env["DTWIN_DATABASE_URL"]
        upgrade_sync(database_url)
        machines = planned_machines(args.machines)
        if args.history_days > 0:
            loaded = asyncio.run(load_history(database_url, machines, args.history_days))
            _say(
                f"loaded {loaded['rows']:,} daily rollup rows ({loaded['machines']:,} machines, "
                f"{loaded['series']:,} sensors, {loaded['first_day']} .. {loaded['last_day']}) "
                f"in {loaded['load_s']:.1f} s (COPY {loaded['copy_s']:.1f} s, then VACUUM ANALYZE)"
            )
            if args.history_report is not None:
                args.history_report.write_text(json.dumps(loaded))
        backend = subprocess.Popen([DTWIN, "serve"], env=env)
        try:
            if args.history_days > 0:
                base_url = f"http://{args.host}:{args.port}"
                _check_in_background(database_url, base_url, machines, args.history_days)
            sys.exit(backend.wait())
        finally:
            stop_processes([backend])


if __name__ == "__main__":
    main()
