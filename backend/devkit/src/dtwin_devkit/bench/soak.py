"""`make bench-soak`: the backend's memory under sustained load. The real pipeline (backend, bridge and
simulators as processes on throwaway servers) at ~10,000 readings/s from 10,000 machines for 30 minutes;
the backend's RSS is sampled every 10 s and printed as a curve (one point a minute), with its growth over
the last 10 minutes. Targets (issue 16): under 1 GiB, and flat over the last 10 minutes. Exits non-zero when
it measured nothing (no samples, no rows) or a process died."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from dtwin_devkit.bench.pipeline import AVG_SENSORS, DTWIN, count_rows, stack_env, wait_ready
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.servers import running, stop_processes

SAMPLE_S = 10.0
MACHINES_PER_SIMULATOR = 2500
GIB = 1024.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per minute."""
    if len(points) < 2:
        return float("nan")
    ts = [t for t, _ in points]
    ms = [m for _, m in points]
    t_mean, m_mean = statistics.fmean(ts), statistics.fmean(ms)
    var = sum((t - t_mean) ** 2 for t in ts)
    if var == 0:
        return float("nan")
    return sum((t - t_mean) * (m - m_mean) for t, m in points) / var * 60.0


async def soak(machines: int, readings_per_s: float, minutes: float) -> tuple[list[tuple[float, float]], int]:
    rate = readings_per_s / (machines * AVG_SENSORS)  # messages per machine per second
    with running() as servers:
        env, db_url, base = await stack_env(servers)
        backend = subprocess.Popen([DTWIN, "serve"], env=env)
        procs = [backend, subprocess.Popen([DTWIN, "bridge"], env=env)]
        samples: list[tuple[float, float]] = []
        try:
            await wait_ready(base)
            duration = minutes * 60 + 10
            for k in range(0, machines, MACHINES_PER_SIMULATOR):
                n = min(MACHINES_PER_SIMULATOR, machines - k)
                cmd = [DTWIN, "simulate", "--machines", str(n), "--rate", f"{rate:.4f}", "--quiet"]
                cmd += ["--duration", str(duration), "--id-offset", str(k), "--seed", str(k)]
                procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL))
            start = time.monotonic()
            end = start + minutes * 60
            while time.monotonic() < end:
                for p in procs:
                    if p.poll() is not None:
                        raise RuntimeError(f"{p.args!r} exited with {p.returncode} during the soak")
                samples.append((time.monotonic() - start, rss_mb(backend.pid)))
                print(f"  {samples[-1][0] / 60:5.1f} min  backend RSS {samples[-1][1]:7.1f} MB", flush=True)
                await asyncio.sleep(SAMPLE_S)
            rows = await count_rows(db_url)
        finally:
            stop_processes(procs)
    return samples, rows


def report(samples: list[tuple[float, float]], rows: int, machines: int, minutes: float) -> str:
    per_minute = [s for s in samples if int(s[0]) % 60 < SAMPLE_S]
    last = [s for s in samples if s[0] >= samples[-1][0] - 600]
    peak = max(m for _, m in samples)
    growth = last[-1][1] - last[0][1]
    slope = slope_mb_per_min(last)
    flat = abs(growth) <= 0.05 * last[0][1]
    lines = [
        f"### Soak, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine_description()}. The real pipeline (backend, bridge, simulators as processes; "
        f"PostgreSQL, Redis, Mosquitto, Tansu on this machine) for {minutes:g} min with {machines:,} "
        f"simulated machines at {rows / (samples[-1][0] or 1):,.0f} readings/s stored on average "
        f"({rows:,} rows). Backend RSS sampled every {SAMPLE_S:g} s. Targets (issue 16): under 1 GiB, flat "
        "over the last 10 minutes.",
        "",
        "| minute | backend RSS MB |",
        "| ---: | ---: |",
        *(f"| {t / 60:.0f} | {m:,.0f} |" for t, m in per_minute),
        "",
        f"Peak {peak:,.0f} MB ({'under' if peak < GIB else 'OVER'} 1 GiB). Last 10 minutes: "
        f"{last[0][1]:,.0f} → {last[-1][1]:,.0f} MB ({growth:+,.0f} MB, slope {slope:+.2f} MB/min): "
        f"{'flat (within 5%)' if flat else 'NOT flat'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--machines", type=int, default=10_000)
    parser.add_argument("--readings", type=float, default=10_000.0, help="offered readings/s")
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    samples, rows = asyncio.run(soak(args.machines, args.readings, args.minutes))
    if len(samples) < 2 or rows == 0:
        sys.exit(f"soak measured nothing: {len(samples)} samples, {rows} rows")
    publish(report(samples, rows, args.machines, args.minutes), args.out)


if __name__ == "__main__":
    main()
