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
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import websockets
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from dtwin.auth.identity import Role
from dtwin.config import Settings
from dtwin.core.db import create_engine
from dtwin.core.migrate import upgrade_sync
from dtwin_devkit.bench.cpu import CpuMeter, postmaster_pid
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.servers import Server, env_for, free_port, running, stop_processes
from dtwin_devkit.testing import token_from_settings
from dtwin_pipeline.simulator.machines import MACHINE_TYPES

DTWIN = str(Path(sys.executable).parent / "dtwin")
AVG_SENSORS = statistics.mean(len(t.sensors) for t in MACHINE_TYPES.values())
MACHINES_PER_SIMULATOR = 1500
CORES = os.cpu_count() or 1
GENERATOR = ("load generator", "bench probe")  # process groups that make the load, not the platform
GENERATOR_NICE = 10
# each stage measured alone on this kind of machine (../shared/RECIPES.md, "Measured stage ceilings"), as
# readings/s with 8-sensor messages: what the pipeline's stages are set against
RECIPE_CEILINGS = {
    "mosquitto": (35_000, "MQTT pub -> Mosquitto -> sub, aiomqtt QoS 1, one connection"),
    "bridge": (96_000, "an MQTT subscriber draining a backlog (paho QoS 1, 12k msgs/s)"),
    "kafka (Tansu)": (300_000, "aiokafka produce to Tansu, acks=1 (34-40k msgs/s)"),
    "redis": (98_000, "one HSET per 8-sensor message, redis-py asyncio"),
    "postgres": (97_000, "asyncpg COPY, batches of 10k rows"),
    "backend": (530_000, "decode + validate alone (msgspec; scoring alone 5.2M readings/s)"),
}
WARMUP_MOST = 40.0  # seconds a step waits at most for the consumer's lag to settle before it measures
# after the window, the probe keeps receiving this long, so the messages published at its end count too
WINDOW_GRACE_S = 5.0
TREND_SLICE_S = 10.0  # the window's p99 slices (`StepResult.trend_ms`)


@dataclass
class StepResult:
    offered: float
    sustained: float
    published: float
    p50_ms: float
    p99_ms: float
    samples: int
    # everything received during the window, including what was published before it (the warm-up's tail)
    received_p99_ms: float = float("nan")
    device_p50_ms: float = float("nan")
    device_p99_ms: float = float("nan")
    device_samples: int = 0
    window_s: float = 0.0
    warmed_s: float = 0.0  # warm-up before the window: until the consumer's lag was under a second's load
    every_change: bool = True  # the WebSocket subscriber stayed connected and needed no gap/resync snapshot
    rows: int = 0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group in the window
    stage_s: dict[str, float] = field(default_factory=dict)  # the consumer's stage seconds in the window
    # p99 ms of the messages published in each TREND_SLICE_S of the window, in order (does it hold or grow?)
    trend_ms: list[float] = field(default_factory=list)

    def cpu_us_per_reading(self) -> dict[str, float]:
        return {k: v / self.rows * 1e6 for k, v in self.cpu_s.items()} if self.rows else {}

    def predicted_ceiling(self, cores: int, leave_out: tuple[str, ...] = ()) -> float:
        """Readings/s all `cores` would sustain at this step's CPU cost per reading, everything on them but
        the process groups `leave_out` (GENERATOR: the platform alone, as if the devices were elsewhere)."""
        spent = sum(v for k, v in self.cpu_s.items() if k not in leave_out)
        return cores * self.rows / spent if self.rows and spent > 0 else 0.0

    def utilisation(self, cores: int) -> float:
        return sum(self.cpu_s.values()) / self.window_s / cores if self.window_s else 0.0


async def backend_metrics(bases: list[str], token: str) -> tuple[dict[str, float], float]:
    """From the backends' /metrics, summed: `dtwin_consumer_stage_seconds_sum` by stage (wall seconds,
    summed over batches) and the consumers' lag (messages behind, summed over their partitions)."""
    stages: dict[str, float] = {}
    lag = 0.0
    async with httpx.AsyncClient() as http:
        for base in bases:
            r = await http.get(f"http://{base}/metrics", headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
            for family in text_string_to_metric_families(r.text):
                if family.name == "dtwin_consumer_stage_seconds":
                    for sample in family.samples:
                        if sample.name.endswith("_sum"):
                            stage = sample.labels["stage"]
                            stages[stage] = stages.get(stage, 0.0) + sample.value
                elif family.name == "dtwin_consumer_lag":
                    lag += sum(sample.value for sample in family.samples)
    return stages, lag


async def published_readings(ports: list[int], timeout_s: float = 0.0) -> float:
    """Readings the generators serving /metrics on `ports` have published so far; waits up to `timeout_s`
    for an endpoint that does not answer yet (a generator still starting)."""
    total = 0.0
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as http:
        for port in ports:
            while True:
                try:
                    r = await http.get(f"http://127.0.0.1:{port}/metrics")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)
            r.raise_for_status()
            for family in text_string_to_metric_families(r.text):
                if family.name == "dtwin_simulator_readings_published":
                    total += sum(x.value for x in family.samples if x.name.endswith("_total"))
    return total


async def warm_up(
    bases: list[str], token: str, ports: list[int], least: float, most: float, messages_per_s: float
) -> float:
    """Wait `least` seconds and until every generator serves its metrics, then until the consumers are
    less than a second of messages behind (steady state: the fleet's new twins are made, connections and
    caches warm), `most` seconds at the longest. Returns the seconds waited."""
    started = time.monotonic()
    await asyncio.sleep(least)
    await published_readings(ports, timeout_s=most)
    while time.monotonic() - started < most:
        _, lag = await backend_metrics(bases, token)
        if lag < messages_per_s:
            break
        await asyncio.sleep(1.0)
    return time.monotonic() - started


DEVICE_FLEET = 60  # machines of the unstamped fleet that measures device-time latency
DEVICE_ID_BASE = 900_000  # its machine numbers start here (the stamped fleets' stay below)


def is_device_fleet(machine_id: str) -> bool:
    number = machine_id.rsplit("-", 1)[-1]
    return number.isdigit() and int(number) > DEVICE_ID_BASE


class LatencyProbe:
    """One WebSocket client subscribed to every twin, recording (receive time - ts) per telemetry change
    (`kind: reported`) it is sent, uncoalesced (no rate cap). The bulk of each step's fleet stamps ts when it
    hands a message to MQTT (`--stamp-at-send`): that is the pipeline's latency, publish -> browser
    (`latencies`). A small fleet of its own (`is_device_fleet`) keeps its tick's time, as devices do: its
    latency also holds the up to 0.9 s by which the simulator spreads a tick (`device_latencies`).

    Each sample is (publish or tick time, latency): a step's figures are over the messages published in its
    window (`in_window`), received during it or up to `WINDOW_GRACE_S` after it. What arrives in the window
    but was published before it is the warm-up's backlog, kept apart (`received`)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.latencies: list[tuple[float, float]] = []  # (publish time, ms)
        self.device_latencies: list[tuple[float, float]] = []
        self.recording = False
        self.resyncs = 0  # snapshots for a gap or a resync: changes this subscriber did not get one by one
        self.closed = False  # the server closed the connection (a slow client is dropped)

    def clear(self) -> None:
        self.latencies.clear()
        self.device_latencies.clear()
        self.resyncs = 0

    async def run(self) -> None:
        async with websockets.connect(self.url, max_size=None) as ws:
            try:
                await self._receive(ws)
            finally:
                self.closed = True

    async def _receive(self, ws: websockets.ClientConnection) -> None:
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
            if msg.get("type") == "snapshot" and msg.get("reason") in ("gap", "resync"):
                self.resyncs += 1
            if msg.get("type") != "update":
                continue
            for item in msg["items"]:
                if item.get("kind") == "reported" and item.get("ts"):
                    sent = datetime.fromisoformat(item["ts"]).timestamp()
                    sample = (sent, (now - sent) * 1000.0)
                    (self.device_latencies if is_device_fleet(item["id"]) else self.latencies).append(sample)

    @staticmethod
    def trend(samples: list[tuple[float, float]], start: float, end: float, slice_s: float) -> list[float]:
        """p99 latency (ms) of the messages published in each `slice_s` of [start, end), in order."""
        n = max(1, int((end - start) // slice_s))
        slices: list[list[float]] = [[] for _ in range(n)]
        for sent, ms in samples:
            if start <= sent < end:
                slices[min(n - 1, int((sent - start) // slice_s))].append(ms)
        return [percentile(v, 0.99) for v in slices]

    @staticmethod
    def in_window(samples: list[tuple[float, float]], start: float, end: float) -> list[float]:
        """Latencies (ms) of the messages published in [start, end) (epoch seconds)."""
        return [ms for sent, ms in samples if start <= sent < end]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def count_rows(db_url: str) -> int:
    engine = create_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            # readings are stored one row per machine-instant (plain PostgreSQL): count their values
            q = "SELECT coalesce(sum(cardinality(values)), 0) FROM reading_rows"
            return int((await conn.execute(text(q))).scalar_one())
    finally:
        await engine.dispose()


async def run_step(
    env: dict[str, str],
    bases: list[str],
    db_url: str,
    offered: float,
    seconds: float,
    warmup: float,
    probe: LatencyProbe,
    step_no: int,
    meter: CpuMeter,
    sims: list[subprocess.Popen[bytes]],
    token: str,
    generator: str = "loadgen",
) -> StepResult:
    machines = max(DEVICE_FLEET + 1, round(offered / AVG_SENSORS))
    sims.clear()
    # (first machine number - 1, machines, stamped at send?): one fleet grows from step to step (a step's
    # machines are the previous step's and more), so that a step measures a fleet in steady state, not the
    # cold start of thousands of new twins
    fleets = [(DEVICE_ID_BASE, DEVICE_FLEET, False)]
    bulk = machines - DEVICE_FLEET
    fleets += [
        (k, min(MACHINES_PER_SIMULATOR, bulk - k), True) for k in range(0, bulk, MACHINES_PER_SIMULATOR)
    ]
    ports = [free_port() for _ in fleets]  # each simulator's /metrics: what it published in the window
    for (offset, n, stamped), port in zip(fleets, ports, strict=True):
        # the stamped bulk comes from the chosen generator; the device-time fleet is always the simulator
        kind = generator if stamped else "simulator"
        seed = step_no * 1000 + offset % 100_000  # the ids (and types) depend on the offset alone
        cmd = (
            [DTWIN, "simulate"]
            if kind == "simulator"
            else [sys.executable, "-m", "dtwin_devkit.bench.loadgen"]
        )
        if kind == "loadgen":
            cmd += ["--url", env["DTWIN_MQTT_URL"]]
        sims.append(
            subprocess.Popen(
                [
                    # the load generator yields the cores to the platform: under overload it falls short of
                    # the offered rate (the `published` column) instead of starving the consumer
                    "nice",
                    "-n",
                    str(GENERATOR_NICE),
                    *cmd,
                    "--machines",
                    str(n),
                    "--rate",
                    "1",
                    "--duration",
                    str(WARMUP_MOST + seconds + 2),
                    "--id-offset",
                    str(offset),
                    "--seed",
                    str(seed),
                    "--metrics-port",
                    str(port),
                    *(["--stamp-at-send"] if stamped else []),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        warmed = await warm_up(bases, token, ports, warmup, WARMUP_MOST, machines)
        stages0, _ = await backend_metrics(bases, token)
        published0 = await published_readings(ports)
        rows0, cpu0, t0 = await count_rows(db_url), meter.sample(), time.monotonic()
        probe.clear()
        probe.recording = True
        wall0 = time.time()
        await asyncio.sleep(seconds)
        wall1, arrived = time.time(), len(probe.latencies)
        rows1, cpu1, t1 = await count_rows(db_url), meter.sample(), time.monotonic()
        published1 = await published_readings(ports)
        stages1, _ = await backend_metrics(bases, token)
        received = [ms for _, ms in probe.latencies[:arrived]]  # what arrived in the window, whenever sent
        await asyncio.sleep(WINDOW_GRACE_S)  # the window's last messages are still on their way
        probe.recording = False
        lat = probe.in_window(probe.latencies, wall0, wall1)
        device_lat = probe.in_window(probe.device_latencies, wall0, wall1)
        trend = probe.trend(probe.latencies, wall0, wall1, TREND_SLICE_S)
        every_change = probe.resyncs == 0 and not probe.closed
    finally:
        stop_processes(sims)
    # let the backend drain this step's backlog before the next one starts
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
        published=(published1 - published0) / (t1 - t0),
        warmed_s=warmed,
        every_change=every_change,
        p50_ms=percentile(lat, 0.50),
        p99_ms=percentile(lat, 0.99),
        samples=len(lat),
        received_p99_ms=percentile(received, 0.99),
        device_p50_ms=percentile(device_lat, 0.50),
        device_p99_ms=percentile(device_lat, 0.99),
        device_samples=len(device_lat),
        window_s=t1 - t0,
        rows=rows1 - rows0,
        cpu_s=CpuMeter.spent(cpu0, cpu1),
        stage_s={k: v - stages0.get(k, 0.0) for k, v in stages1.items()},
        trend_ms=trend,
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
        # models, archive and bootstrap files of the bench's processes stay out of the checkout's var/, which
        # `make demo` and the tests' embedded apps read (a trained type model there changes their scoring)
        "DTWIN_DATA_DIR": tempfile.mkdtemp(prefix="dtwin-bench-"),
    }
    db_url = env["DTWIN_DATABASE_URL"]
    await asyncio.to_thread(upgrade_sync, db_url)
    port = free_port()
    env["DTWIN_PORT"] = str(port)
    return env, db_url, f"127.0.0.1:{port}"


def stack_meter(
    servers: dict[str, Server],
    processes: dict[str, list[subprocess.Popen[bytes]]],
    sims: list[subprocess.Popen[bytes]],
) -> CpuMeter:
    """A CPU meter over every process of the stack: each server, each platform process, the simulators
    of the current step (`sims`, refilled per step) and this bench process (the WebSocket probe)."""

    def fixed(pid: int) -> Callable[[], list[int]]:
        return lambda: [pid]

    def pids(group: list[subprocess.Popen[bytes]]) -> Callable[[], list[int]]:
        return lambda: [p.pid for p in group]

    trees: dict[str, Callable[[], list[int]]] = {"load generator": pids(sims)}
    for name, group in processes.items():
        trees[name] = pids(group)
    for name, server in servers.items():
        if name == "postgres" and server.workdir is not None:
            trees[name] = fixed(postmaster_pid(server.workdir / "data"))
        elif server.proc is not None:
            trees[{"kafka": "kafka (Tansu)"}.get(name, name)] = fixed(server.proc.pid)
    return CpuMeter(trees, own="bench probe")


def budget_line(r: StepResult) -> str:
    per = r.cpu_us_per_reading()
    parts = "  ".join(f"{k} {v:.1f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]))
    return (
        f"CPU-us/reading: {parts}  | total {sum(per.values()):.1f}, cores busy {r.utilisation(CORES):.0%}, "
        f"ceiling {r.predicted_ceiling(CORES):,.0f}/s, "
        f"platform only {r.predicted_ceiling(CORES, GENERATOR):,.0f}/s"
    )


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
    steps: list[float],
    seconds: float,
    warmup: float,
    extra_env: dict[str, str] | None = None,
    *,
    generator: str = "loadgen",
    backends: int = 1,
    bridges: int = 1,
) -> list[StepResult]:
    """The ramp on fresh servers; `extra_env` adds DTWIN_* settings to the backend, bridge and simulator.
    `backends` backend processes (one consumer group: Kafka spreads the partitions) and `bridges` bridge
    processes (one MQTT shared subscription); the WebSocket probe is a client of the first backend and sees
    every backend's changes through Redis."""
    results: list[StepResult] = []
    with running() as servers:
        env, db_url, base = await stack_env(servers)
        env |= extra_env or {}
        bases = [base] + [f"127.0.0.1:{free_port()}" for _ in range(backends - 1)]
        procs: dict[str, list[subprocess.Popen[bytes]]] = {"backend": [], "bridge": []}
        try:
            for b in bases:  # one after the other: the first creates the bootstrap admin
                procs["backend"].append(
                    subprocess.Popen([DTWIN, "serve"], env={**env, "DTWIN_PORT": b.rsplit(":", 1)[1]})
                )
                await wait_ready(b)
            for k in range(bridges):
                procs["bridge"].append(
                    subprocess.Popen(
                        [DTWIN, "bridge"], env={**env, "DTWIN_BRIDGE_CLIENT_ID": f"bench-bridge-{k}"}
                    )
                )
            settings = Settings(database_url=db_url, jwt_secret=env["DTWIN_JWT_SECRET"])
            token = await token_from_settings(settings, Role.viewer, ttl=timedelta(hours=4))
            probe = LatencyProbe(f"ws://{base}/ws", token)
            probe_task = asyncio.create_task(probe.run())
            sims: list[subprocess.Popen[bytes]] = []
            meter = stack_meter(servers, procs, sims)
            await asyncio.sleep(5)  # consumer group join on Tansu
            for i, offered in enumerate(steps, 1):
                r = await run_step(
                    env, bases, db_url, offered, seconds, warmup, probe, i, meter, sims, token, generator
                )
                results.append(r)
                print(
                    f"  offered {r.offered:>8.0f}/s  sustained {r.sustained:>8.0f}/s  "
                    f"publish->browser p50 {r.p50_ms:>6.0f} ms p99 {r.p99_ms:>6.0f} ms "
                    f"({r.samples} samples)  "
                    f"device time p50 {r.device_p50_ms:>6.0f} ms p99 {r.device_p99_ms:>6.0f} ms",
                    flush=True,
                )
                print("    " + budget_line(r), flush=True)
                if r.sustained < 0.5 * r.offered:
                    print("  saturated: stopping the ramp", flush=True)
                    break
            probe_task.cancel()
            with contextlib.suppress(BaseException):
                await probe_task
        finally:
            stop_processes([p for group in procs.values() for p in group])

    return results


def report_text(
    results: list[StepResult], seconds: float, generator: str = "loadgen", backends: int = 1, bridges: int = 1
) -> str:
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
        f"Tansu (Kafka protocol), all on this machine; {backends} backend and {bridges} bridge "
        f"process(es). Steps of {seconds:.0f} s, each measured once the consumers were less than a second "
        f"behind (at most {WARMUP_MOST:.0f} s); one fleet grows from step to step. Simulated machines at "
        f"1 Hz, {AVG_SENSORS:.1f} sensors each on average, published by "
        + (
            "the load generator (bench/loadgen.py: the simulator's physics pre-generated, sent over a raw "
            "MQTT connection)"
            if generator == "loadgen"
            else "`dtwin simulate` processes"
        )
        + f" at nice {GENERATOR_NICE}, so the platform has the cores first (published: what they sent in "
        "the window).",
        "",
        "| offered readings/s | published readings/s | sustained readings/s (rows in PostgreSQL) | ratio "
        "| publish→browser p50 ms | p99 ms | device time→browser p50 ms | p99 ms "
        "| p99 ms of all received in the window | subscriber got every change | warm-up s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.offered:,.0f} | {r.published:,.0f} | {r.sustained:,.0f} | {r.sustained / r.offered:.2f} | "
            f"{r.p50_ms:,.0f} | {r.p99_ms:,.0f} | {r.device_p50_ms:,.0f} | {r.device_p99_ms:,.0f} | "
            f"{r.received_p99_ms:,.0f} | {'yes' if r.every_change else '**no**'} | {r.warmed_s:.0f}"
            + (" (lag never under 1 s)" if r.warmed_s >= WARMUP_MOST else "")
            + " |"
        )
    lines += [
        "",
        f"Highest step sustained (>= 95% of offered): **{best:,.0f} readings/s**. "
        "Latency, same clock: publish→browser is a WebSocket client's receive time minus the moment the "
        "simulator handed the message to MQTT (`--stamp-at-send`, the bulk of the fleet); "
        f"device time→browser is minus the tick's time, on a {DEVICE_FLEET}-machine fleet that keeps it "
        "(it includes the up to 0.9 s by which the simulator spreads a tick over the second). Both are over "
        f"the messages published in the window (received in it or up to {WINDOW_GRACE_S:.0f} s after); "
        "the p99 of all received in the window also holds what was published before it, during the "
        "warm-up (which ends once the consumer is less than a second of messages behind).",
        "",
        *trend_lines(results),
        *budget_table(results),
    ]
    return "\n".join(lines)


def trend_lines(results: list[StepResult]) -> list[str]:
    """Each step's p99 by slice of its window: a latency that holds stays flat, a queue that grows rises."""
    lines = [f"p99 publish→browser ms by {TREND_SLICE_S:.0f} s of publish time in each step's window:", ""]
    for r in results:
        lines.append(f"- {r.offered:,.0f}/s: " + " → ".join(f"{ms:,.0f}" for ms in r.trend_ms))
    return [*lines, ""]


def check_line(results: list[StepResult]) -> str:
    """The ceiling predicted from the cost per reading of the highest step that kept up (below saturation,
    so its cost is not inflated by queueing), against the most any step sustained."""
    kept = [r for r in results if r.rows and r.sustained >= 0.95 * r.offered]
    if not kept:
        return "No step kept up with its offered load: no prediction to check."
    base = kept[-1]
    predicted = base.predicted_ceiling(CORES)
    best = max(results, key=lambda r: r.sustained)
    return (
        f"Prediction from the {base.offered:,.0f}/s step: the cost per reading there saturates {CORES} cores "
        f"at **{predicted:,.0f} readings/s**; the most any step sustained is **{best.sustained:,.0f}/s** "
        f"(offered {best.offered:,.0f}/s, cores {best.utilisation(CORES):.0%} busy): "
        f"{best.sustained / predicted:.2f} of the prediction."
    )


def budget_table(results: list[StepResult]) -> list[str]:
    """Per-reading CPU cost of each process group per step, the ceiling its sum predicts for this machine's
    cores, and, at the highest step, the prediction checked against what that step sustained."""
    groups = sorted(
        {g for r in results for g in r.cpu_s},
        key=lambda g: -max(r.cpu_us_per_reading().get(g, 0) for r in results),
    )
    lines = [
        f"CPU-µs per reading stored, by process (user + system time from /proc, children included) over "
        f"each step's window; the sum predicts what {CORES} cores sustain when nothing else runs:",
        "",
        "| offered/s | "
        + " | ".join(groups)
        + " | total | cores busy | predicted ceiling/s | platform only (generator elsewhere)/s |",
        "| ---: | " + " | ".join("---:" for _ in groups) + " | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        per = r.cpu_us_per_reading()
        lines.append(
            f"| {r.offered:,.0f} | "
            + " | ".join(f"{per.get(g, 0.0):.1f}" for g in groups)
            + f" | {sum(per.values()):.1f} | {r.utilisation(CORES):.0%} | {r.predicted_ceiling(CORES):,.0f} "
            f"| {r.predicted_ceiling(CORES, GENERATOR):,.0f} |"
        )
    top = results[-1]
    if top.rows:
        stage = "  ".join(
            f"{k} {v / top.rows * 1e6:.1f}" for k, v in sorted(top.stage_s.items(), key=lambda kv: -kv[1])
        )
        lines += [
            "",
            f"Consumer stages at {top.offered:,.0f}/s, wall µs per reading: {stage}.",
            "",
            check_line(results),
            "",
            *ceiling_table(top),
        ]
    return lines


def ceiling_table(r: StepResult) -> list[str]:
    """Each process's cost per reading at step `r`, as the readings/s one core would give at that cost,
    next to what the stage did alone (RECIPE_CEILINGS)."""
    per = r.cpu_us_per_reading()
    lines = [
        f"Per-stage budget at {r.offered:,.0f}/s against the stage ceilings measured alone (RECIPES.md):",
        "",
        "| process | CPU-µs per reading | readings/s one core gives at that cost "
        "| the stage alone, readings/s | measured as |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for group, cost in sorted(per.items(), key=lambda kv: -kv[1]):
        alone, how = RECIPE_CEILINGS.get(group, (0, "the load, not the platform"))
        lines.append(
            f"| {group} | {cost:.1f} | {1e6 / cost if cost else 0:,.0f} | "
            f"{f'{alone:,.0f}' if alone else '—'} | {how} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--steps",
        default="10000,20000,30000,40000,50000",
        help="offered readings/s per step, comma-separated",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at least before a step measures")
    parser.add_argument(
        "--generator",
        choices=("loadgen", "simulator"),
        default="loadgen",
        help="the bulk's load: pre-generated physics (bench/loadgen.py) or `dtwin simulate` itself",
    )
    parser.add_argument("--backends", type=int, default=1, help="backend processes (one consumer group)")
    parser.add_argument("--bridges", type=int, default=1, help="bridge processes (one shared subscription)")
    args = parser.parse_args()
    steps = [float(s) for s in args.steps.split(",")]
    print(f"pipeline benchmark: steps {steps} readings/s, {args.seconds:.0f} s each", flush=True)
    results = asyncio.run(
        bench(
            steps,
            args.seconds,
            args.warmup,
            generator=args.generator,
            backends=args.backends,
            bridges=args.bridges,
        )
    )
    empty = [
        r
        for r in results
        if r.samples == 0
        or r.device_samples == 0
        or r.sustained <= 0
        or math.isnan(r.p99_ms)
        or not r.cpu_s
        or r.rows <= 0
    ]
    if not results or empty:
        # a benchmark that measured nothing fails instead of writing a table of zeros and nan
        sys.exit(f"pipeline benchmark measured nothing at {[r.offered for r in empty] or 'any step'}")
    publish(report_text(results, args.seconds, args.generator, args.backends, args.bridges), args.out)


if __name__ == "__main__":
    main()
