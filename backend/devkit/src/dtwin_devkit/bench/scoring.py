"""`python -m dtwin_devkit.bench.scoring`: the anomaly scoring engine alone, on a synthetic fleet (5,000
machines x 8 sensors, one message per machine per second, batches of 5,000 messages like the consumer's):
scoring readings/s, per-batch cost, state memory, and the backtest CLI's rows/s. Prints a Markdown section and
appends it to `--out`."""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from dtwin.anomalies.backtest import run_backtest
from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.type_model import fit_model
from dtwin.contracts.telemetry import Telemetry
from dtwin_devkit.bench.report import publish

TYPE = "bench_machine"
SENSORS = tuple(f"s{i}" for i in range(8))
LIMITS = {TYPE: dict.fromkeys(SENSORS, (0.0, 100.0))}
T0 = datetime(2026, 11, 23, tzinfo=UTC)


class Fleet:
    """Machines whose sensors sit at their own operating points with 1%-of-range noise; 0.5% of machines get
    a spike on one sensor each tick, so events and explanations are part of the measured cost."""

    def __init__(self, machines: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.ids = [f"m{j:05d}" for j in range(machines)]
        self.base = self.rng.uniform(30.0, 60.0, (machines, len(SENSORS)))

    def values(self) -> np.ndarray:
        v = self.base + self.rng.normal(0.0, 1.0, self.base.shape)
        hit = self.rng.random(len(self.ids)) < 0.005
        v[hit, self.rng.integers(0, len(SENSORS), int(hit.sum()))] += 25.0
        return v

    def batch(self, second: int) -> list[Telemetry]:
        ts = T0 + timedelta(seconds=second)
        rows = self.values().tolist()
        return [
            Telemetry(mid, TYPE, ts, dict(zip(SENSORS, row, strict=True)))
            for mid, row in zip(self.ids, rows, strict=True)
        ]


def scoring_run(machines: int, warmup: int, measured: int) -> dict[str, float]:
    fleet = Fleet(machines)
    engine = ScoringEngine(limits=LIMITS)
    second = 0
    for _ in range(warmup):
        engine.score_batch(fleet.batch(second))
        second += 1
    fitted = 0
    t = time.perf_counter()
    for job in engine.training_due():
        engine.install_model(fit_model(*job, trained_at=engine.now))
        fitted += 1
    fit_s = time.perf_counter() - t
    costs = []
    events = 0
    for _ in range(measured):
        items = fleet.batch(second)
        second += 1
        t = time.perf_counter()
        out = engine.score_batch(items)
        costs.append(time.perf_counter() - t)
        events += len(out.events)
    readings = machines * len(SENSORS)
    median = statistics.median(costs)
    return {
        "median_ms": 1000 * median,
        "p95_ms": 1000 * sorted(costs)[int(0.95 * (len(costs) - 1))],
        "max_ms": 1000 * max(costs),
        "readings_per_s": readings / median,
        "state_mb": engine.memory_bytes() / 1e6,
        "fit_s": fit_s,
        "models": fitted,
        "events_per_batch": events / measured,
    }


def traced_memory(machines: int, batches: int = 3) -> float:
    """Everything the engine allocates (numpy state and the Python index), measured with tracemalloc."""
    fleet = Fleet(machines, seed=1)
    items = [fleet.batch(s) for s in range(batches)]
    tracemalloc.start()
    engine = ScoringEngine(limits=LIMITS)
    for batch in items:
        engine.score_batch(batch)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / 1e6


def csv_text(rows: int, sensors: int, seed: int = 2) -> str:
    rng = np.random.default_rng(seed)
    values = 50.0 + rng.normal(0.0, 1.0, (rows, sensors))
    values[rng.random(rows) < 0.001] += 10.0
    header = "timestamp," + (",".join(f"s{i}" for i in range(sensors)) if sensors > 1 else "value")
    start = T0.timestamp()
    body = "".join(
        f"{datetime.fromtimestamp(start + i, UTC).isoformat().replace('+00:00', 'Z')},"
        + ",".join(f"{v:.3f}" for v in row)
        + "\n"
        for i, row in enumerate(values.tolist())
    )
    return header + "\n" + body


def backtest_rate(rows: int, sensors: int, train: bool) -> tuple[float, int]:
    text = csv_text(rows, sensors)
    stats = run_backtest(io.StringIO(text), io.StringIO(), train=train)
    return stats.rows_per_s, stats.models_fitted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=40, help="batches before measuring (detector warm-up)")
    parser.add_argument("--batches", type=int, default=30, help="measured batches")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    s = scoring_run(args.machines, args.warmup, args.batches)
    traced = traced_memory(args.machines)
    single, _ = backtest_rate(500_000, 1, train=True)
    multi_train, fits = backtest_rate(200_000, 8, train=True)
    multi, _ = backtest_rate(200_000, 8, train=False)
    elapsed = time.perf_counter() - started

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    m, f = args.machines, len(SENSORS)
    lines = [
        f"### Scoring engine run {now}",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}. "
        f"`python -m dtwin_devkit.bench.scoring`: {m:,} machines x {f} sensors, batches of {m:,} messages "
        f"({m * f:,} readings), {args.warmup} warm-up batches, then the type model fitted and installed, "
        f"{args.batches} measured batches (~0.5% of machines spiking per batch). Took {elapsed:.0f} s.",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| scoring, readings/s (median batch) | {s['readings_per_s']:,.0f} |",
        f"| batch of {m:,} messages: median / p95 / max ms | "
        f"{s['median_ms']:.1f} / {s['p95_ms']:.1f} / {s['max_ms']:.1f} |",
        f"| anomaly events per batch | {s['events_per_batch']:.1f} |",
        f"| state: numpy arrays MB | {s['state_mb']:.1f} |",
        f"| state: everything allocated (tracemalloc) MB | {traced:.1f} |",
        f"| model fit ({s['models']:.0f} type, incl. scikit-learn import) s | {s['fit_s']:.2f} |",
        f"| backtest `timestamp,value`, 500k rows, rows/s | {single:,.0f} |",
        f"| backtest 8 sensors, 200k rows, rows/s (scoring only, `--no-train`) | {multi:,.0f} |",
        f"| backtest 8 sensors, 200k rows, rows/s (with {fits} inline model fits) | {multi_train:,.0f} |",
        "",
    ]
    text = "\n".join(lines)
    publish(text, args.out)


if __name__ == "__main__":
    main()
