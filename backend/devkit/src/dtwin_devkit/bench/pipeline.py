"""`make bench`: the real pipeline (simulator -> Mosquitto -> bridge -> Kafka/Tansu -> backend -> PostgreSQL +
Redis -> WebSocket) on throwaway servers, at rising offered load. For each step it reports the offered rate,
the sustained rate durably written to PostgreSQL, and p50/p99 latency from the device timestamp to delivery
on a WebSocket client. Figures go to stdout and are appended to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import websockets
from sqlalchemy import text

from dtwin.auth.identity import Role
from dtwin.config import Settings
from dtwin.core.db import create_engine
from dtwin.core.migrate import upgrade_sync
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.servers import Server, env_for, free_port, running, stop_processes
from dtwin_devkit.testing import token_from_settings
from dtwin_pipeline.simulator.machines import MACHINE_TYPES

DTWIN = str(Path(sys.executable).parent / "dtwin")
AVG_SENSORS = statistics.mean(len(t.sensors) for t in MACHINE_TYPES.values())
MACHINES_PER_SIMULATOR = 1500


@dataclass
class StepResult:
    offered: float
    sustained: float
    published: float
    p50_ms: float
    p99_ms: float
    samples: int


class LatencyProbe:
    """One WebSocket client subscribed to every twin, recording (receive time - device ts) per telemetry
    change (`kind: reported`) it is sent, uncoalesced (no rate cap)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.latencies: list[float] = []
        self.recording = False

    async def run(self) -> None:
        async with websockets.connect(self.url, max_size=None) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": self.token}).decode())  # as browsers do
            hello = orjson.loads(await ws.recv())
            if hello.get("type") != "hello":
                raise RuntimeError(f"unexpected first WebSocket message: {hello}")
            await ws.send(orjson.dumps({"type": "subscribe", "sub": "bench", "stream": "twins"}).decode())
            async for raw in ws:
                if not self.recording:
                    continue
                now = time.time()
                msg = orjson.loads(raw)
                if msg.get("type") == "error":
                    raise RuntimeError(f"WebSocket error: {msg}")
                if msg.get("type") != "update":
                    continue
                for item in msg["items"]:
                    if item.get("kind") == "reported" and item.get("ts"):
                        ts = datetime.fromisoformat(item["ts"]).timestamp()
                        self.latencies.append((now - ts) * 1000.0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def count_rows(db_url: str) -> int:
    engine = create_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM readings"))).scalar_one())
    finally:
        await engine.dispose()


async def run_step(
    env: dict[str, str],
    base: str,
    db_url: str,
    offered: float,
    seconds: float,
    warmup: float,
    probe: LatencyProbe,
    step_no: int,
) -> StepResult:
    machines = max(1, round(offered / AVG_SENSORS))
    sims: list[subprocess.Popen[bytes]] = []
    for k in range(0, machines, MACHINES_PER_SIMULATOR):
        n = min(MACHINES_PER_SIMULATOR, machines - k)
        sims.append(
            subprocess.Popen(
                [
                    DTWIN,
                    "simulate",
                    "--machines",
                    str(n),
                    "--rate",
                    "1",
                    "--duration",
                    str(warmup + seconds + 2),
                    "--id-offset",
                    str(step_no * 100_000 + k),
                    "--seed",
                    str(step_no * 1000 + k),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        await asyncio.sleep(warmup)
        rows0, t0 = await count_rows(db_url), time.monotonic()
        probe.latencies.clear()
        probe.recording = True
        await asyncio.sleep(seconds)
        probe.recording = False
        rows1, t1 = await count_rows(db_url), time.monotonic()
        lat = list(probe.latencies)
    finally:
        published = 0
        for p in sims:
            out, _ = await asyncio.to_thread(p.communicate, timeout=60)
            with contextlib.suppress(ValueError, IndexError):
                published += int(out.decode().split("published ", 1)[1].split(" ", 1)[0])
    # let the backend drain this step's backlog before the next one starts
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        await http.get("/healthz")
    drain_deadline = time.monotonic() + 60
    last = -1
    while time.monotonic() < drain_deadline:
        now_rows = await count_rows(db_url)
        if now_rows == last:
            break
        last = now_rows
        await asyncio.sleep(2)
    return StepResult(
        offered=machines * AVG_SENSORS,
        sustained=(rows1 - rows0) / (t1 - t0),
        published=published * AVG_SENSORS / (warmup + seconds + 2),
        p50_ms=percentile(lat, 0.50),
        p99_ms=percentile(lat, 0.99),
        samples=len(lat),
    )


async def stack_env(servers: dict[str, Server]) -> tuple[dict[str, str], str, str]:
    """The environment of backend/bridge/simulator processes on `servers` (database migrated, a free HTTP
    port); returns (env, database URL, backend host:port)."""
    env = {
        **os.environ,
        **env_for(servers),
        "DTWIN_FRONTEND_DIST": "",
        "DTWIN_BRIDGE_METRICS_PORT": "",
        "DTWIN_LOG_LEVEL": "warning",
    }
    db_url = env["DTWIN_DATABASE_URL"]
    await asyncio.to_thread(upgrade_sync, db_url)
    port = free_port()
    env["DTWIN_PORT"] = str(port)
    return env, db_url, f"127.0.0.1:{port}"


async def wait_ready(base: str, timeout_s: float = 60.0) -> None:
    """Until the backend at `base` answers /readyz with 200."""
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("backend did not become ready")
            await asyncio.sleep(0.5)


async def bench(
    steps: list[float], seconds: float, warmup: float, extra_env: dict[str, str] | None = None
) -> list[StepResult]:
    """The ramp on fresh servers; `extra_env` adds DTWIN_* settings to the backend, bridge and simulator."""
    results: list[StepResult] = []
    with running() as servers:
        env, db_url, base = await stack_env(servers)
        env |= extra_env or {}
        procs = [subprocess.Popen([DTWIN, "serve"], env=env), subprocess.Popen([DTWIN, "bridge"], env=env)]
        try:
            await wait_ready(base)
            settings = Settings(database_url=db_url, jwt_secret=env["DTWIN_JWT_SECRET"])
            token = await token_from_settings(settings, Role.viewer, ttl=timedelta(hours=4))
            probe = LatencyProbe(f"ws://{base}/ws", token)
            probe_task = asyncio.create_task(probe.run())
            await asyncio.sleep(5)  # consumer group join on Tansu
            for i, offered in enumerate(steps, 1):
                r = await run_step(env, base, db_url, offered, seconds, warmup, probe, i)
                results.append(r)
                print(
                    f"  offered {r.offered:>8.0f}/s  sustained {r.sustained:>8.0f}/s  "
                    f"p50 {r.p50_ms:>7.0f} ms  p99 {r.p99_ms:>7.0f} ms  ({r.samples} samples)",
                    flush=True,
                )
                if r.sustained < 0.5 * r.offered:
                    print("  saturated: stopping the ramp", flush=True)
                    break
            probe_task.cancel()
            with contextlib.suppress(BaseException):
                await probe_task
        finally:
            stop_processes(procs)

    return results


def report_text(results: list[StepResult], seconds: float) -> str:
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        or "unknown"
    )
    ok = [r for r in results if r.sustained >= 0.95 * r.offered]
    best = max((r.sustained for r in ok), default=0.0)
    lines = [
        f"### Pipeline run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (commit {commit})",
        "",
        f"Machine: {machine_description()}. Servers: PostgreSQL 15 (no TimescaleDB), Redis 7, Mosquitto 2, "
        f"Tansu (Kafka protocol), all on this machine. Steps of {seconds:.0f} s measured after warm-up; "
        f"simulated machines at 1 Hz, {AVG_SENSORS:.1f} sensors each on average.",
        "",
        "| offered readings/s | sustained readings/s (rows in PostgreSQL) | ratio | p50 latency ms "
        "| p99 latency ms |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.offered:,.0f} | {r.sustained:,.0f} | {r.sustained / r.offered:.2f} | "
            f"{r.p50_ms:,.0f} | {r.p99_ms:,.0f} |"
        )
    lines += [
        "",
        f"Highest step sustained (>= 95% of offered): **{best:,.0f} readings/s**. "
        "Latency is device timestamp -> WebSocket client receive (same clock).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--steps", default="3000,6000,12000,24000,48000", help="offered readings/s per step, comma separated"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    steps = [float(s) for s in args.steps.split(",")]
    print(f"pipeline benchmark: steps {steps} readings/s, {args.seconds:.0f} s each", flush=True)
    results = asyncio.run(bench(steps, args.seconds, args.warmup))
    empty = [r for r in results if r.samples == 0 or r.sustained <= 0 or math.isnan(r.p99_ms)]
    if not results or empty:
        # a benchmark that measured nothing fails instead of writing a table of zeros and nan
        sys.exit(f"pipeline benchmark measured nothing at {[r.offered for r in empty] or 'any step'}")
    publish(report_text(results, args.seconds), args.out)


if __name__ == "__main__":
    main()
