"""`python -m dtwin_devkit.bench.dryrun`: back-test of the desired-state dry run's predictor (issue #23
item 1) on the simulator, in process (no servers).

Every machine type with settings gets `--machines` simulated machines (dtwin_pipeline's `Fleet`, random faults
off). Every `slot` seconds (the slowest type's settle_s + the 10-minute steady window) each machine receives a
real command through the device protocol (`Fleet.apply_desired`: the device checks it against the catalogue
ranges and acks): first `--history` commands that build its history (machines 0 .. n-2 get settings spread
over each setting's range; the last machine keeps its initial settings, so it must borrow the fleet's slopes),
then `--tests` commands with new random settings. Before each test command the predictor the API runs
(`dtwin.whatif`: steady spans of the settings history, each sensor's mean over the first 10 minutes after the
type's settle_s, `predict` on the machine's own spans or the type's fleet) predicts every moved sensor's
steady level; after the command has settled the same window of the real readings is the truth.

Measures per type and sensor: median absolute error, the same relative to the sensor's operating span
(hi - lo), the share of truths inside the 95% interval (coverage), the methods used, and for reference the
error of assuming nothing changes (the last steady level before the command). Prints Markdown, appends to
`--out`; exits non-zero when it measured nothing (no prediction, or a nan figure)."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from dtwin.contracts.catalogue import CatalogueType, machine_catalogue
from dtwin.whatif.history import MIN_READINGS, Change, Span, features, steady_spans
from dtwin.whatif.predict import LEVEL, Sample, predict
from dtwin.whatif.service import STEADY_WINDOW_S, affected_sensors, feature_names
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


@dataclass
class Machine:
    id: str
    type: CatalogueType
    role: str  # "varied" (history spread over the ranges) or "fixed" (initial settings kept)
    reported: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    t: list[float] = field(default_factory=list)  # seconds since START
    values: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def level(self, sensor: str, start: float, end: float) -> tuple[float, int]:
        t = np.asarray(self.t)
        v = np.asarray(self.values[sensor])
        mask = (t >= start) & (t < end)
        return (float(v[mask].mean()) if mask.any() else math.nan), int(mask.sum())


@dataclass
class Result:
    errors: list[float] = field(default_factory=list)
    rel: list[float] = field(default_factory=list)
    covered: list[bool] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def seconds(ts: datetime) -> float:
    return (ts - START).total_seconds()


def samples_of(
    m: Machine, spec: CatalogueType, sensor: str, now: float, target: dict[str, Any]
) -> list[Sample]:
    """The machine's steady samples of one sensor as the API's Histories builds them (same spans, same
    window, same mode filter, same features)."""
    settle = float(spec.settle_s or 120.0)
    spans: list[Span] = steady_spans(m.changes, settle, START + timedelta(seconds=now))
    names = feature_names(spec, sensor, m.reported)
    out = []
    for span in spans:
        a = seconds(span.start)
        b = min(seconds(span.end), a + STEADY_WINDOW_S)
        y, n = m.level(sensor, a, b)
        if n < MIN_READINGS or span.settings.get("mode", "on") != target.get("mode", "on"):
            continue
        x = features(span.settings, names)
        if x is not None:
            out.append(Sample(m.id, x, y))
    return out


def command_values(
    spec: CatalogueType, m: Machine, k: int, rng: np.random.Generator, spread: list[float] | None
) -> dict[str, Any]:
    """The settings of command k: one setting per command, in turn; `spread` picks a fraction of its
    range (the history), else a random one inside 5%..95% of it (the tests)."""
    st = spec.settings[k % len(spec.settings)]
    frac = spread[k // len(spec.settings) % len(spread)] if spread else float(rng.uniform(0.05, 0.95))
    value = round(st.lo + frac * (st.hi - st.lo), st.decimals)
    return {st.name: int(value) if st.decimals == 0 else value}


def run(args: argparse.Namespace) -> tuple[dict[tuple[str, str], Result], int, float]:
    catalogue = machine_catalogue()
    types = [t for t in catalogue.values() if t.settings and (not args.types or t.name in args.types)]
    fleet = Fleet(SimulatorConfig(fleet={t.name: args.machines for t in types}, seed=args.seed, start=START))
    machines: dict[str, Machine] = {}
    for g in fleet.groups:
        for j, mm in enumerate(g.machines):
            role = "fixed" if j == args.machines - 1 and args.machines > 1 else "varied"
            machines[mm.id] = Machine(mm.id, catalogue[mm.type], role)
    slot = max(float(t.settle_s or 120.0) for t in types) + STEADY_WINDOW_S + 60.0
    rng = np.random.default_rng(args.seed)
    spread = [float(f) for f in rng.permutation(np.linspace(0.1, 0.9, max(args.history, 2)))]
    results: dict[tuple[str, str], Result] = defaultdict(Result)
    pending: list[tuple[Machine, str, float, Any, float]] = []  # machine, sensor, due, prediction, naive
    version = 0
    now = 0.0
    total_slots = args.history + args.tests + 1
    steps = int(total_slots * slot / args.dt)
    for step in range(1, steps + 1):
        now = step * args.dt
        ts = START + timedelta(seconds=now)
        for o in fleet.tick(ts, args.dt):
            msg = orjson.loads(o.payload)
            m = machines[msg["machine_id"]]
            m.t.append(now)
            for name, v in msg["readings"].items():
                m.values[name].append(float(v))
            rep = msg["reported"]
            diff = {k: v for k, v in rep.items() if m.reported.get(k) != v}
            if diff:  # what the change log's `settings` entries would hold (device time of the message)
                m.changes.append(Change(ts, diff))
                m.reported = dict(rep)
        # truths that have settled
        for item in [p for p in pending if p[2] + STEADY_WINDOW_S <= now]:
            pending.remove(item)
            m, sensor, due, pred, naive = item
            actual, n = m.level(sensor, due, due + STEADY_WINDOW_S)
            if n < MIN_READINGS or pred.value is None:
                continue
            sens = m.type.sensor(sensor)
            r = results[(m.type.name, sensor)]
            r.errors.append(abs(pred.value - actual))
            r.rel.append(abs(pred.value - actual) / (sens.hi - sens.lo))
            r.covered.append(pred.lower <= actual <= pred.upper)
            r.naive.append(abs(naive - actual))
        k, rem = divmod(now, slot)
        if rem >= args.dt or k < 1 or k >= total_slots:
            continue
        k = int(k) - 1  # command number
        for m in machines.values():
            spec = m.type
            testing = k >= args.history
            if not testing and m.role == "fixed":
                continue
            patch = command_values(spec, m, k, rng, None if testing else spread)
            if testing:
                target = {**m.reported, **patch}
                changed = [s for s in patch if m.reported.get(s) != patch[s]]
                settle = float(spec.settle_s or 120.0)
                for sensor in affected_sensors(spec, changed, [s.name for s in spec.sensors]):
                    names = feature_names(spec, sensor, m.reported)
                    x0 = features(target, names)
                    own = samples_of(m, spec, sensor, now, target)
                    others = [
                        s
                        for o in machines.values()
                        if o.type.name == spec.name and o.id != m.id
                        for s in samples_of(o, spec, sensor, now, target)
                    ]
                    pred = predict(own + others, x0 or (), m.id)
                    results[(spec.name, sensor)].methods[pred.method] += 1
                    last = own[-1].y if own else math.nan
                    pending.append((m, sensor, now + settle, pred, last))
            version += 1
            ack = fleet.apply_desired(
                {"schema": 1, "machine_id": m.id, "version": version, "desired": patch}, now=ts
            )
            if ack["status"] != "accepted":
                sys.exit(f"the device refused a bench command: {ack}")
    return results, len(machines), now


def _median(xs: list[float]) -> float:
    return float(np.median(xs)) if xs else math.nan


def markdown(
    results: dict[tuple[str, str], Result], n: int, sim_s: float, args: argparse.Namespace, took: float
) -> str:
    rows = sorted(results.items())
    measured = [r for _, r in rows if r.errors]
    all_rel = [x for r in measured for x in r.rel]
    all_cov = [c for r in measured for c in r.covered]
    all_naive_rel = [
        e / (machine_catalogue()[t].sensor(s).hi - machine_catalogue()[t].sensor(s).lo)
        for (t, s), r in rows
        for e in r.naive
        if not math.isnan(e)
    ]
    methods: dict[str, int] = defaultdict(int)
    for _, r in rows:
        for k, v in r.methods.items():
            methods[k] += v
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        or "unknown"
    )
    lines = [
        f"## Dry-run predictor back-test ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit})",
        "",
        f"{machine_description()}; `make bench-dryrun` (`python -m dtwin_devkit.bench.dryrun`) in "
        f"{took:.0f} s. "
        f"{n} simulated machines ({args.machines} per type with settings, seed {args.seed}) over "
        f"{sim_s / 3600:.1f} simulated hours at {args.dt:g} s steps; {args.history} history commands per "
        f"machine (the last machine of each type keeps its initial settings: it borrows the fleet's slopes), "
        f"then {args.tests} test commands with random settings, all through the device protocol "
        "(`Fleet.apply_desired`). Prediction: the API's code (`dtwin.whatif`) on the history up to the "
        "command; truth: the mean of the real readings over the 10 minutes after the type's settle_s. "
        f"Interval: {LEVEL:.0%}. `no change`: the error of assuming the last steady level stays.",
        "",
        f"**Overall**: {len(all_rel)} predictions; median |error| / operating span "
        f"{_median(all_rel):.2%} (no change: {_median(all_naive_rel):.2%}); coverage "
        f"{np.mean(all_cov) if all_cov else math.nan:.1%}; methods "
        + ", ".join(f"{k} x{v}" for k, v in sorted(methods.items())),
        "",
        "| type | sensor | n | median abs error | / span | no change / span | coverage | methods |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for (t, s), r in rows:
        span = machine_catalogue()[t].sensor(s).hi - machine_catalogue()[t].sensor(s).lo
        unit = machine_catalogue()[t].sensor(s).unit
        meth = ", ".join(f"{k} x{v}" for k, v in sorted(r.methods.items()))
        if not r.errors:
            lines.append(f"| {t} | `{s}` | 0 | - | - | - | - | {meth} |")
            continue
        lines.append(
            f"| {t} | `{s}` | {len(r.errors)} | {_median(r.errors):.3g} {unit} | {_median(r.rel):.2%} | "
            f"{_median([e / span for e in r.naive if not math.isnan(e)]):.2%} | "
            f"{np.mean(r.covered):.0%} | {meth} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=4, help="per type (the last one keeps its settings)")
    parser.add_argument("--history", type=int, default=8, help="history commands per machine")
    parser.add_argument("--tests", type=int, default=6, help="test commands per machine")
    parser.add_argument("--dt", type=float, default=5.0, help="simulation step, seconds")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--types", nargs="*", help="only these machine types")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results, n, sim_s = run(args)
    rel = [x for r in results.values() for x in r.rel]
    cov = [c for r in results.values() for c in r.covered]
    if not rel or not all(math.isfinite(x) for x in rel) or not cov:
        sys.exit("measured nothing: no prediction was checked against the simulator, or a figure is nan")
    publish(markdown(results, n, sim_s, args, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
