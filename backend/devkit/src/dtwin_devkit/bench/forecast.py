"""`python -m dtwin_devkit.bench.forecast`: forecast accuracy (issue #19 item 3) by rolling-origin backtests
on the simulator's own machine models (no servers):

1. **Energy meters**: `--meters` simulated energy meters (dtwin_pipeline's `energy_meter`, one per shift
   pattern, Monday start) for `--weeks` weeks at 1-minute steps; the kWh register read at every hour
   boundary gives hourly consumption (register deltas, rollovers unwrapped). From `--train-weeks` on, an
   origin every `--every-h` hours: fit on the trailing `--train-weeks` weeks, forecast the next 24 h
   (dtwin.forecast.model.forecast, seasons 24 and 168, as the API does), compare with what happened.
2. **Machine sensors**: `--machines` simulated centrifugal pumps for `--sensor-days` days at 1-minute steps;
   two sensors; an origin every hour of the last day; fit on the trailing 12 h, forecast the next 60 min.

Measures: MASE (MAE over the in-sample seasonal-naive MAE, Hyndman & Koehler; season 168 h for energy, 1
step for sensors), the same for the seasonal-naive forecast itself, their ratio (target < 1: better than
seasonal-naive), and the 90% interval's coverage (target within 10 points of 90%).

Prints Markdown; appends to `--out`; exits non-zero when it measured nothing (no fold, or a nan figure)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dtwin.forecast.model import LEVEL, coverage, forecast, has_season, mase, seasonal_naive
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_pipeline.simulator.machines import MACHINE_TYPES
from dtwin_pipeline.simulator.physics import ROLLOVER_KWH, TypeFleet

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
SENSORS = ("flow_m3_h", "bearing_temperature_c")


@dataclass
class Folds:
    """Per fold: MAE of the model and of seasonal-naive, the MASE scale, coverage; methods used."""

    model_mae: list[float] = field(default_factory=list)
    naive_mae: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    covered: list[float] = field(default_factory=list)
    fit_s: list[float] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)

    def add(
        self, actual: np.ndarray, train: np.ndarray, season: int | None, seasons: tuple[int, ...]
    ) -> None:
        t0 = time.perf_counter()
        f = forecast(train, len(actual), seasons, floor=0.0 if seasons else None)
        self.fit_s.append(time.perf_counter() - t0)
        if f.empty:
            return
        base = seasonal_naive(train, len(actual), f.season or season)
        s = f.season or season
        self.model_mae.append(mase(actual, f.mean, train, s))
        self.naive_mae.append(mase(actual, base, train, s))
        self.covered.append(coverage(actual, f.lo, f.hi))
        self.methods[f.method] = self.methods.get(f.method, 0) + 1

    @property
    def mase(self) -> float:
        return float(np.mean(self.model_mae)) if self.model_mae else math.nan

    @property
    def naive(self) -> float:
        return float(np.mean(self.naive_mae)) if self.naive_mae else math.nan

    @property
    def coverage(self) -> float:
        return float(np.mean(self.covered)) if self.covered else math.nan


def simulate(type_name: str, n: int, days: float, seed: int, sites: list[float] | None = None) -> np.ndarray:
    """(minutes, sensors, machines) readings of `n` simulated machines, one step per minute from START."""
    fleet = TypeFleet(MACHINE_TYPES[type_name], n, np.random.default_rng(seed))
    fleet.epoch0 = START.timestamp()
    if sites is not None:
        fleet.site = np.asarray(sites)
    steps = int(days * 1440)
    out = np.empty((steps, len(fleet.names), n))
    for i in range(steps):
        out[i] = fleet.step((i + 1) * 60.0, 60.0)
    return out


def hourly_consumption(register: np.ndarray) -> np.ndarray:
    """kWh per hour from a register read every minute (its value at each hour's end minus the previous)."""
    at_hours = register[59::60]
    deltas = np.diff(at_hours, axis=0)
    deltas[deltas < 0] += ROLLOVER_KWH  # a rollover
    return deltas


def energy(args: argparse.Namespace) -> Folds:
    sites = [(k + 0.5) / args.meters for k in range(args.meters)]  # spread over the shift patterns
    data = simulate("energy_meter", args.meters, args.weeks * 7, args.seed, sites)
    row = MACHINE_TYPES["energy_meter"].sensor_names.index("energy_kwh")
    folds = Folds()
    train_h = args.train_weeks * 168
    for j in range(args.meters):
        kwh = hourly_consumption(data[:, row, j])
        for origin in range(train_h, len(kwh) - 24 + 1, args.every_h):
            folds.add(kwh[origin : origin + 24], kwh[origin - train_h : origin], 168, (24, 168))
    return folds


def sensors(args: argparse.Namespace) -> dict[str, Folds]:
    mtype = MACHINE_TYPES["centrifugal_pump"]
    data = simulate("centrifugal_pump", args.machines, args.sensor_days, args.seed + 1)
    out: dict[str, Folds] = {}
    train, horizon = 12 * 60, 60
    for name in SENSORS:
        folds = out[name] = Folds()
        row = mtype.sensor_names.index(name)
        for j in range(args.machines):
            y = data[:, row, j]
            for origin in range(len(y) - 1440, len(y) - horizon + 1, 60):
                past = y[origin - train : origin]
                season = (60,) if has_season(past, 60) else ()
                folds.add(y[origin : origin + horizon], past, None, season)
    return out


def _methods(f: Folds) -> str:
    return ", ".join(f"{m} x{k}" for m, k in sorted(f.methods.items()))


def markdown(e: Folds, s: dict[str, Folds], args: argparse.Namespace, took_s: float) -> str:
    rows = [("energy: next 24 h, hourly kWh", e, "168 h")] + [
        (f"pump `{name}`: next 60 min at 1 min", f, "1 step") for name, f in s.items()
    ]
    lines = [
        f"## Forecast accuracy ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"{machine_description()}; `python -m dtwin_devkit.bench.forecast` in {took_s:.0f} s. "
        f"Rolling-origin backtests on the simulator's machine models: {args.meters} energy meters x "
        f"{args.weeks} weeks (train {args.train_weeks} weeks, an origin every {args.every_h} h), "
        f"{args.machines} pumps x {args.sensor_days} days (train 12 h, an origin every hour "
        "of the last day). "
        f"MASE scale: in-sample seasonal-naive MAE. Targets: model MASE / seasonal-naive MASE < 1, "
        f"coverage of the {LEVEL:.0%} interval within 10 points.",
        "",
        "| series | folds | MASE model | MASE seasonal-naive | ratio | 90% coverage | fit+intervals p50 "
        "| methods |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, f, scale in rows:
        lines.append(
            f"| {name} (scale {scale}) | {len(f.model_mae)} | {f.mase:.3f} | {f.naive:.3f} | "
            f"{f.mase / f.naive:.2f} | {f.coverage:.1%} | {1000 * float(np.median(f.fit_s)):.0f} ms | "
            f"{_methods(f)} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--meters", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=5)
    parser.add_argument("--train-weeks", type=int, default=3)
    parser.add_argument("--every-h", type=int, default=12)
    parser.add_argument("--machines", type=int, default=2)
    parser.add_argument("--sensor-days", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    e = energy(args)
    s = sensors(args)
    figures = [e.mase, e.naive, e.coverage] + [x for f in s.values() for x in (f.mase, f.naive, f.coverage)]
    if not e.model_mae or any(not f.model_mae for f in s.values()) or not all(map(math.isfinite, figures)):
        sys.exit("measured nothing: a backtest had no fold or a figure is nan")
    publish(markdown(e, s, args, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
