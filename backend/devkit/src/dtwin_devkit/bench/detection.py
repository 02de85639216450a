"""`python -m dtwin_devkit.bench.detection`: anomaly detection quality against the simulator's ground-truth
log. Runs the scenario files (data-pipeline/scenarios) for several seeds through exactly the streaming engine,
after a healthy warm-up in which the type models are trained, and reports precision, recall, F1 and median
detection delay per fault kind, false alarms of healthy machines, and the coverage of the RUL band (how often
a degrading machine's failure fell inside it). Prints Markdown; appends to `--out`; exits non-zero when it
measured no RUL instant."""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from dtwin.alarms import reports as alarm_reports
from dtwin.alarms.thresholds import Rule, ThresholdEvaluator
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.evaluate import EvaluationReport, GroundTruthEvent, evaluate
from dtwin.anomalies.type_model import fit_model
from dtwin.contracts.telemetry import Telemetry
from dtwin.demo import catalogue_rules
from dtwin.machine_types.catalogue import catalogue_table
from dtwin_devkit.bench.report import publish
from dtwin_pipeline.simulator.fault_kinds import FAULT_KINDS
from dtwin_pipeline.simulator.fleet import Fleet
from dtwin_pipeline.simulator.scenario import Scenario, load_scenario

SCENARIO_DIR = Path(__file__).resolve().parents[5] / "data-pipeline" / "scenarios"
T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
# Faults that do not change what a sensor reads: the consumer drops duplicates and stale messages, a missing
# reading or message is not a value. They are not detection targets; alarms they cause count as false alarms.
NOT_SCORED = frozenset({"dropout", "duplicate", "out_of_order", "late", "missing"})
GRACE_S = 600.0  # thermal lags: a fault's effects outlast its end by minutes
MERGE_GAP_S = 300.0  # alarms of a machine less than 5 min apart are one episode (one alarm to an operator)
SCENARIOS = ("bearing-wear", "fouling", "data-quality", "default")
DEFAULT_DURATION_S = 7200.0  # for scenarios that run until stopped (default.yaml)
ANOMALY_ALARM_SCORE = 0.8  # Settings.alarm_anomaly_score's default
RUL_EVERY_S = 60.0  # RUL coverage: one instant per degrading machine every minute of its degradation
# (machine, ts, reported health, RUL estimate, lower, upper) after a batch
HealthRecord = tuple[str, float, float, float, float, float]


@dataclass
class RunResult:
    scenario: str
    seed: int
    machine_ids: list[str] = field(default_factory=list)  # per scored row
    ts: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    truth: list[dict[str, object]] = field(default_factory=list)
    starts: list[tuple[str, float, str]] = field(default_factory=list)  # event starts (machine, ts, detector)
    defensive: set[str] = field(default_factory=set)  # machines whose latest decision is defensive
    machines: list[str] = field(default_factory=list)
    hours: float = 0.0  # measured (after warm-up) stream hours per machine
    report: EvaluationReport | None = None
    health: list[HealthRecord] = field(default_factory=list)
    fail_health: float = 25.0
    alarms: list[tuple[str, float, str]] = field(default_factory=list)  # activations (machine, ts, condition)

    @property
    def faulty(self) -> set[str]:
        return {str(t["machine_id"]) for t in self.truth if t["kind"] not in NOT_SCORED}


def shifted(scenario: Scenario, seed: int, warmup_s: float, duration_s: float) -> Scenario:
    """The scenario with its faults `warmup_s` later, a new seed and a fixed duration."""
    faults = [
        f.model_copy(update={"start_s": f.start_s + warmup_s, "end_s": f.end_s + warmup_s})
        for f in scenario.faults
    ]
    return scenario.model_copy(update={"seed": seed, "faults": faults, "duration_s": duration_s + warmup_s})


def run_scenario(
    scenario: Scenario,
    seed: int,
    *,
    warmup_s: float = 3600.0,
    duration_s: float | None = None,
    batch_s: int = 60,
    train_every_s: float = 600.0,
    config: EngineConfig | None = None,
) -> RunResult:
    """Simulate `scenario` (faults shifted past a healthy warm-up) and score it batch by batch, fitting due
    type models inline every `train_every_s` of stream time (the consumer fits them in a process pool)."""
    duration = duration_s or scenario.duration_s or 3600.0
    sc = shifted(scenario, seed, warmup_s, duration)
    truth: list[dict[str, object]] = []
    cfg = sc.to_config()
    cfg.start = T0
    fleet = Fleet(cfg, on_fault_event=truth.append)
    engine = ScoringEngine(config, limits=catalogue_table())
    alarms = ThresholdEvaluator(Rule.of(k, r) for k, r in enumerate(catalogue_rules(), 1))
    res = RunResult(scenario.name, seed, machines=[m.id for m in fleet.machines], hours=duration / 3600.0)
    latest: dict[str, str] = {}
    step = 1.0 / sc.rate_hz
    n_steps = round((warmup_s + duration) * sc.rate_hz)
    per_batch = max(1, round(batch_s * sc.rate_hz))
    measured_from = T0.timestamp() + warmup_s
    next_train = train_every_s
    for b0 in range(0, n_steps, per_batch):
        items: list[Telemetry] = []
        for k in range(b0, min(b0 + per_batch, n_steps)):
            for o in fleet.tick(T0 + timedelta(seconds=k * step), step):
                d = orjson.loads(o.payload)
                ts = datetime.fromisoformat(d["ts"])
                items.append(Telemetry(d["machine_id"], d["machine_type"], ts, d["readings"], d["quality"]))
        out = engine.score_batch(items)
        rows = out.rows
        for i in np.flatnonzero(rows.scored & (rows.ts >= measured_from)).tolist():
            res.machine_ids.append(items[i].machine_id)
            res.ts.append(float(rows.ts[i]))
            res.scores.append(1.0 if rows.alarm[i] else 0.0)  # the row alarms (EngineConfig.alarm_score)
        res.starts.extend(
            (e.machine_id, e.ts.timestamp(), e.detector) for e in out.events if e.kind == "start"
        )
        # the alarms the platform would raise: the demo's threshold rules, and anomaly episodes whose score
        # reaches the alarm level (DTWIN_ALARM_ANOMALY_SCORE's default)
        alarms.register(items)
        res.alarms.extend((c.machine_id, c.ts, c.rule.condition) for c in alarms.evaluate(items) if c.raised)
        res.alarms.extend(
            (e.machine_id, e.ts.timestamp(), "anomaly")
            for e in out.events
            if e.kind == "start" and e.peak_score >= ANOMALY_ALARM_SCORE
        )
        for d in out.decisions:
            latest[d.machine_id] = d.strategy
        m = out.machines
        res.health.extend(
            zip(
                m.machine_ids,
                m.ts.tolist(),
                m.health.tolist(),
                m.rul_s.tolist(),
                m.rul_lower_s.tolist(),
                m.rul_upper_s.tolist(),
                strict=True,
            )
        )
        if engine.now - T0.timestamp() >= next_train:
            next_train += train_every_s
            for job in engine.training_due():
                engine.install_model(fit_model(*job, trained_at=engine.now))
    res.truth = truth
    res.fail_health = engine.config.health.fail_health
    res.defensive = {m for m, s in latest.items() if s == "defensive"}
    res.starts = [s for s in res.starts if s[1] >= measured_from]
    res.alarms = sorted(a for a in res.alarms if a[1] >= measured_from)
    res.report = evaluate(
        res.ts,
        res.scores,
        [
            GroundTruthEvent(
                str(t["machine_id"]),
                None,
                str(t["kind"]),
                float(str(t["start_s"])) + T0.timestamp(),
                float(str(t["end_s"])) + T0.timestamp(),
            )
            for t in truth
            if t["kind"] not in NOT_SCORED and float(str(t["end_s"])) > warmup_s
        ],
        machine_ids=res.machine_ids,
        threshold=engine.config.threshold,
        grace_s=GRACE_S,
        merge_gap_s=MERGE_GAP_S,
    )
    return res


@dataclass
class RulCoverage:
    """RUL band against the failures that happened: instants (every `RUL_EVERY_S` of a degradation, from its
    start to the machine's failure) with a band, how many held the failure time, and instants without one."""

    degrading: int = 0  # machines with a gradual physical fault in the ground truth
    failed: int = 0  # ...whose health reached the failure level within the run
    instants: int = 0  # instants with a band
    inside: int = 0
    no_band: int = 0

    @property
    def coverage(self) -> float:
        return self.inside / self.instants if self.instants else float("nan")


def rul_coverage(runs: Sequence[RunResult], every_s: float = RUL_EVERY_S) -> RulCoverage:
    """The true failure time of a machine the ground truth says degrades (a gradual physical fault: bearing
    wear, fouling, misalignment) is the first instant after the fault's start at which its reported health
    is at or below the failure level; at every `every_s` from the fault's start until then, the band counts
    when it holds that time (machines that do not fail within the run are censored and left out)."""
    cov = RulCoverage()
    for r in runs:
        starts: dict[str, float] = {}
        for t in r.truth:
            kind = FAULT_KINDS.get(str(t["kind"]))
            if kind is not None and kind.category == "physical" and kind.gradual:
                m, s0 = str(t["machine_id"]), float(str(t["start_s"])) + T0.timestamp()
                starts[m] = min(s0, starts.get(m, math.inf))
        by_machine: dict[str, list[HealthRecord]] = {}
        for rec in r.health:
            if rec[0] in starts:
                by_machine.setdefault(rec[0], []).append(rec)
        cov.degrading += len(starts)
        for m, s0 in starts.items():
            recs = sorted(by_machine.get(m, []), key=lambda x: x[1])
            fail = next((x[1] for x in recs if x[1] >= s0 and x[2] <= r.fail_health), None)
            if fail is None:
                continue
            cov.failed += 1
            slot = -1
            for _, ts, _, est, lo, hi in recs:
                if ts < s0 or ts >= fail or int((ts - s0) // every_s) == slot:
                    continue
                slot = int((ts - s0) // every_s)
                if math.isnan(est):
                    cov.no_band += 1
                    continue
                cov.instants += 1
                cov.inside += lo <= fail - ts <= hi
    return cov


@dataclass
class AlarmFigures:
    """Alarms the platform would raise against the faults that happened: per fault kind how many faults had
    an alarm on their machine within [start, end + GRACE_S]; alarm episodes (activations of a machine less
    than MERGE_GAP_S apart) on healthy machines per 100 machine-hours; chattering alarms (3+ activations of
    one machine and condition within 60 s)."""

    faults: dict[str, int] = field(default_factory=dict)
    alarmed: dict[str, int] = field(default_factory=dict)
    activations: int = 0
    healthy_episodes: int = 0
    healthy_hours: float = 0.0
    chattering: int = 0

    @property
    def healthy_per_100h(self) -> float:
        return 100.0 * self.healthy_episodes / self.healthy_hours if self.healthy_hours else 0.0


def alarm_figures(runs: Sequence[RunResult]) -> AlarmFigures:
    out = AlarmFigures()
    for r in runs:
        out.activations += len(r.alarms)
        by_machine: dict[str, list[float]] = {}
        by_condition: dict[tuple[str, str], list[float]] = {}
        for m, ts, cond in r.alarms:
            by_machine.setdefault(m, []).append(ts)
            by_condition.setdefault((m, cond), []).append(ts)
        for t in r.truth:
            kind = str(t["kind"])
            if kind in NOT_SCORED:
                continue
            start = float(str(t["start_s"])) + T0.timestamp()
            end = float(str(t["end_s"])) + T0.timestamp() + GRACE_S
            out.faults[kind] = out.faults.get(kind, 0) + 1
            hit = any(start <= ts <= end for ts in by_machine.get(str(t["machine_id"]), ()))
            out.alarmed[kind] = out.alarmed.get(kind, 0) + hit
        healthy = [m for m in r.machines if m not in r.faulty]
        out.healthy_hours += len(healthy) * r.hours
        for m in healthy:
            stamps = sorted(by_machine.get(m, ()))
            out.healthy_episodes += sum(
                1 for k, ts in enumerate(stamps) if k == 0 or ts - stamps[k - 1] >= MERGE_GAP_S
            )
        out.chattering += sum(
            1
            for stamps in by_condition.values()
            if alarm_reports.max_in_window(sorted(stamps), alarm_reports.CHATTER_WINDOW_S)
            >= alarm_reports.CHATTER_COUNT
        )
    return out


def scenario_files(names: Sequence[str]) -> list[Scenario]:
    return [load_scenario(SCENARIO_DIR / f"{n}.yaml") for n in names]


@dataclass
class KindTotals:
    events: int = 0
    detected: int = 0
    false_alarms: int = 0  # of the runs the kind occurred in
    delays: list[float] = field(default_factory=list)  # per-run median delays

    @property
    def recall(self) -> float:
        return self.detected / self.events if self.events else 0.0

    @property
    def precision(self) -> float:
        n = self.detected + self.false_alarms
        return self.detected / n if n else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def totals(runs: Sequence[RunResult]) -> dict[str, KindTotals]:
    out: dict[str, KindTotals] = {}
    for r in runs:
        assert r.report is not None
        for kind, k in r.report.kinds.items():
            t = out.setdefault(kind, KindTotals())
            t.events += k.events
            t.detected += k.detected
            t.false_alarms += k.false_alarms
            if k.median_delay_s is not None:
                t.delays.append(k.median_delay_s)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class ScenarioSummary:
    """Medians over seeds for one scenario."""

    machines: int
    healthy: float
    false_episodes: float  # row-alarm episodes outside every fault window (+ grace)
    healthy_events_per_100h: float  # anomaly events started on healthy machines per 100 machine-hours
    healthy_defensive: float  # healthy machines whose latest strategy is defensive
    faulty_defensive: float  # share of faulty machines whose latest strategy is defensive


def summarise(runs: Sequence[RunResult]) -> ScenarioSummary:
    def med(xs: list[float]) -> float:
        return float(statistics.median(xs)) if xs else float("nan")

    healthy, fa, ev, hdef, fdef = [], [], [], [], []
    for r in runs:
        assert r.report is not None
        ok = [m for m in r.machines if m not in r.faulty]
        healthy.append(float(len(ok)))
        fa.append(float(r.report.false_alarms))
        starts = sum(1 for m, _, _ in r.starts if m in set(ok))
        ev.append(100.0 * starts / max(len(ok) * r.hours, 1e-9))
        hdef.append(float(len(r.defensive & set(ok))))
        fdef.append(len(r.defensive & r.faulty) / len(r.faulty) if r.faulty else float("nan"))
    return ScenarioSummary(len(runs[0].machines), med(healthy), med(fa), med(ev), med(hdef), med(fdef))


def markdown(
    by_scenario: dict[str, list[RunResult]], seeds: Sequence[int], warmup_s: float, took_s: float
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    all_runs = [r for rs in by_scenario.values() for r in rs]
    lines = [
        f"### Anomaly detection vs ground truth, {now}",
        "",
        f"`python -m dtwin_devkit.bench.detection`: scenarios {', '.join(by_scenario)} "
        f"(data-pipeline/scenarios; `default` for {DEFAULT_DURATION_S / 3600:.0f} h), seeds = the file's "
        f"seed + 0..{len(seeds) - 1}, each after {warmup_s / 60:.0f} min of healthy warm-up (faults shifted; "
        "type models fitted inline every 10 min of stream time), scored in batches of 60 s by the streaming "
        "engine with the machine catalogue's ranges. A fault is detected when a row of its machine alarms "
        "(`EngineConfig.alarm_score`: calibrated score >= 0.9995, or level >= 0.5 on a machine whose "
        "calibration is still cold or for an operating limit) "
        f"within [start, end + {GRACE_S:.0f} s]; an alarm episode (alarming rows of a machine less "
        f"than {MERGE_GAP_S:.0f} s apart) overlapping no fault window is a false alarm and counts against "
        "the precision of every kind in that run. Delay = first alarm - fault start (median per run, then "
        "median over runs; gradual faults start at severity 0). Dropout, duplicate, out-of-order, late and "
        "missing messages change no value (the consumer drops stale or repeated readings) and are not "
        f"detection targets; alarms they cause count as false. Took {took_s:.0f} s.",
        "",
        "| fault kind | events | detected | recall | precision | F1 | median delay s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, t in totals(all_runs).items():
        delay = f"{statistics.median(t.delays):.0f}" if t.delays else "-"
        lines.append(
            f"| {kind} | {t.events} | {t.detected} | {t.recall:.2f} | {t.precision:.2f} | {t.f1:.2f} "
            f"| {delay} |"
        )
    lines += [
        "",
        "Per scenario (medians over seeds):",
        "",
        "| scenario | machines | healthy | false alarm episodes | events on healthy machines per 100 "
        "machine-h | healthy machines ending defensive | faulty machines ending defensive |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in by_scenario.items():
        s = summarise(runs)
        lines.append(
            f"| {name} | {s.machines} | {s.healthy:.0f} | {s.false_episodes:.0f} | "
            f"{s.healthy_events_per_100h:.1f} | {s.healthy_defensive:.0f} | "
            f"{'-' if math.isnan(s.faulty_defensive) else f'{s.faulty_defensive:.0%}'} |"
        )
    lines += [
        "",
        f"RUL band (80%) vs the failures that happened: one instant every {RUL_EVERY_S:.0f} s of a "
        "degradation (gradual physical faults of the ground truth), from its start until the machine's "
        "reported health first reached the failure level (the true failure time); machines that did not fail "
        "within the run are left out. Coverage = instants whose failure time fell inside the band / instants "
        "with a band.",
        "",
        "| scenario | degrading machines | failed | instants with a band | inside | coverage | instants "
        "without a band |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in [*by_scenario.items(), ("all", all_runs)]:
        c = rul_coverage(runs)
        cov = "-" if math.isnan(c.coverage) else f"{c.coverage:.0%}"
        lines.append(
            f"| {name} | {c.degrading} | {c.failed} | {c.instants} | {c.inside} | {cov} | {c.no_band} |"
        )
    a = alarm_figures(all_runs)
    lines += [
        "",
        "Alarms the platform would raise (issue #17): the demo's threshold rules (`hi` at the top of every "
        "catalogue sensor's operating range, deadband 2% of the range, on-delay 5 s, off-delay 10 s) and "
        f"anomaly episodes whose score reaches {ANOMALY_ALARM_SCORE}. A fault counts as alarmed when its "
        f"machine had an alarm within [start, end + {GRACE_S:.0f} s].",
        "",
        "| fault kind | faults | alarmed | share |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind in sorted(a.faults):
        n, hit = a.faults[kind], a.alarmed.get(kind, 0)
        lines.append(f"| {kind} | {n} | {hit} | {hit / n:.0%} |")
    lines += [
        "",
        f"All runs: {a.activations:,} alarm activations; alarm episodes on healthy machines (activations "
        f"of a machine less than {MERGE_GAP_S:.0f} s apart are one) "
        f"**{a.healthy_per_100h:.1f} per 100 machine-h** ({a.healthy_episodes} in "
        f"{a.healthy_hours:,.0f} machine-h); chattering alarms (3+ activations within 60 s) "
        f"**{a.chattering}**.",
    ]
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seeds", type=int, default=3, help="runs per scenario (seed, seed + 1, ...)")
    parser.add_argument("--warmup", type=float, default=3600.0, help="healthy seconds before the faults")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    by_scenario: dict[str, list[RunResult]] = {}
    for sc in scenario_files(args.scenarios.split(",")):
        for k in range(args.seeds):
            r = run_scenario(
                sc,
                sc.seed + k,
                warmup_s=args.warmup,
                duration_s=DEFAULT_DURATION_S if sc.duration_s is None else None,
            )
            by_scenario.setdefault(sc.name, []).append(r)
            print(f"{sc.name} seed {sc.seed + k}: {len(r.scores):,} rows", file=sys.stderr)
    text = markdown(by_scenario, list(range(args.seeds)), args.warmup, time.perf_counter() - started)
    publish(text, args.out)
    measured = rul_coverage([r for rs in by_scenario.values() for r in rs])
    if measured.instants == 0:
        sys.exit("no RUL instant measured: no degrading machine failed with a band reported")
    if alarm_figures([r for rs in by_scenario.values() for r in rs]).activations == 0:
        sys.exit("no alarm measured: no rule or anomaly raised one in any run")


if __name__ == "__main__":
    main()
