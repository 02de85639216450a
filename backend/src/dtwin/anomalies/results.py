"""What the scoring engine returns: per-reading and per-row arrays, per-machine results, anomaly events,
health and correlation reports. Every dataclass has `to_dict()` (JSON-ready, ISO 8601 UTC with `Z`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import numpy as np

from dtwin.anomalies.decisions import STRATEGIES, Decision, JsonValue
from dtwin.anomalies.detectors import DETECTORS
from dtwin.anomalies.scan import F64, I8, I64, Bool
from dtwin.contracts.telemetry import iso_utc

EventKind = Literal["start", "update", "resolved"]


def to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def to_datetimes(ts: Sequence[float]) -> list[datetime]:
    """`[to_datetime(t) for t in ts]`, each distinct value converted once (a batch's machines share a few
    instants)."""
    seen: dict[float, datetime] = {}
    return [seen.get(t) or seen.setdefault(t, to_datetime(t)) for t in ts]


def _rounded(a: F64, digits: int) -> list[list[float]]:
    """Rows of `a` rounded, as lists; infinities become NaN (both then turn into None, like `finite`)."""
    out: list[list[float]] = np.round(np.where(np.isinf(a), np.nan, a), digits).tolist()
    return out


def finite(x: float | None, digits: int = 6) -> float | None:
    """A JSON-safe float: None for NaN/inf, rounded."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _finite_list(a: F64, digits: int) -> list[float | None]:
    """`[finite(x, digits) for x in a]` (a float array), in one pass."""
    values: list[float] = a.tolist()
    if bool(np.isfinite(a).all()):
        return [round(x, digits) for x in values]
    return [round(x, digits) if math.isfinite(x) else None for x in values]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One sensor's part in an anomaly: its value, the tracked level it was expected near, how far off it is
    (z against the tracked spread, and as % of the operating range when known) and its evidence (1.0 =
    the threshold of `detector`)."""

    sensor: str
    value: float
    expected: float | None
    z: float | None
    pct_of_range: float | None
    evidence: float
    detector: str

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "sensor": self.sensor,
            "value": finite(self.value),
            "expected": finite(self.expected),
            "z": finite(self.z, 3),
            "pct_of_range": finite(self.pct_of_range, 2),
            "evidence": finite(self.evidence, 3),
            "detector": self.detector,
        }


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    """An anomaly episode of a machine: `start` when its score first reaches the type's threshold, `update`
    when the score rose by `event_min_change` or the top sensor changed, `resolved` after the score stayed
    below `resolve_ratio` x threshold for `resolve_after` batches."""

    machine_id: str
    machine_type: str
    kind: EventKind
    ts: datetime
    started_at: datetime
    score: float
    peak_score: float
    threshold: float
    detector: str
    explanation: list[Contribution]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "machine_id": self.machine_id,
            "machine_type": self.machine_type,
            "kind": self.kind,
            "ts": iso_utc(self.ts),
            "started_at": iso_utc(self.started_at),
            "score": finite(self.score, 4),
            "peak_score": finite(self.peak_score, 4),
            "threshold": finite(self.threshold, 4),
            "detector": self.detector,
            "explanation": [c.to_dict() for c in self.explanation],
        }


@dataclass(frozen=True, slots=True)
class RulEstimate:
    """Remaining useful life in seconds from `ts`, with a band (`upper_s` None = unbounded)."""

    seconds: float
    lower_s: float
    upper_s: float | None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "seconds": finite(self.seconds, 1),
            "lower_s": finite(self.lower_s, 1),
            "upper_s": finite(self.upper_s, 1),
        }


@dataclass(frozen=True, slots=True)
class MachineHealth:
    machine_id: str
    ts: datetime
    health: float  # 0..100
    score_ewma: float
    trend_per_hour: float  # health points per hour of the fitted trend (0 without enough samples)
    trend_significant: bool
    rul: RulEstimate | None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "machine_id": self.machine_id,
            "ts": iso_utc(self.ts),
            "health": finite(self.health, 2),
            "score_ewma": finite(self.score_ewma, 4),
            "trend_per_hour": finite(self.trend_per_hour, 3),
            "trend_significant": self.trend_significant,
            "rul": self.rul.to_dict() if self.rul else None,
        }


@dataclass(frozen=True, slots=True)
class MachineResult:
    """One machine touched by a batch: its highest row score in the batch and the state after the batch."""

    machine_id: str
    machine_type: str
    ts: datetime
    score: float
    is_anomaly: bool
    detector: str
    explanation: list[Contribution]
    health: float
    rul: RulEstimate | None
    strategy: str | None
    correlation_breaks: int
    # its JSON (the analytics written to the twin) is built for many at once: MachineScores.dicts


def rul_of(est: float, lo: float, hi: float) -> RulEstimate | None:
    if not math.isfinite(est):
        return None
    return RulEstimate(float(est), float(lo), float(hi) if math.isfinite(hi) else None)


@dataclass(frozen=True)
class MachineScores:
    """Per-machine results of a batch, column-wise (cheap for thousands of machines); `results()` builds
    the objects, `dicts()` / `to_dict()` their JSON. Explanations exist for anomalous machines only."""

    machine_ids: list[str]
    machine_types: list[str]
    ts: F64
    score: F64
    is_anomaly: Bool
    detector: I8
    health: F64
    rul_s: F64
    rul_lower_s: F64
    rul_upper_s: F64
    strategy: I8  # index into STRATEGIES, -1 = no decision yet
    correlation_breaks: I64
    explanations: dict[str, list[Contribution]] = field(default_factory=dict)
    # correlation windows each machine completed (its report changes when this does)
    correlation_windows: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # the machines' slots in the engine (valid until it compacts: `ScoringEngine.compactions` moves)
    slots: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.machine_ids)

    def results(self, only: Sequence[int] | None = None) -> list[MachineResult]:
        """One MachineResult per machine, or only for the machines at these positions (only their values
        leave the arrays)."""
        at = np.asarray(only, dtype=np.int64) if only is not None else slice(None)
        ids = [self.machine_ids[i] for i in only] if only is not None else self.machine_ids
        types = [self.machine_types[i] for i in only] if only is not None else self.machine_types
        ts, score, anom, det = (
            self.ts[at].tolist(),
            self.score[at].tolist(),
            self.is_anomaly[at].tolist(),
            self.detector[at].tolist(),
        )
        health, est, lo, hi = (
            self.health[at].tolist(),
            self.rul_s[at].tolist(),
            self.rul_lower_s[at].tolist(),
            self.rul_upper_s[at].tolist(),
        )
        strat, brk = self.strategy[at].tolist(), self.correlation_breaks[at].tolist()
        return [
            MachineResult(
                machine_id=machine_id,
                machine_type=types[i],
                ts=to_datetime(ts[i]),
                score=score[i],
                is_anomaly=bool(anom[i]),
                detector=DETECTORS[det[i]],
                explanation=self.explanations.get(machine_id, []),
                health=health[i],
                rul=rul_of(est[i], lo[i], hi[i]),
                strategy=STRATEGIES[strat[i]] if strat[i] >= 0 else None,
                correlation_breaks=int(brk[i]),
            )
            for i, machine_id in enumerate(ids)
        ]

    def dicts(self, only: Sequence[int] | None = None) -> list[dict[str, JsonValue]]:
        """`[r.to_dict() for r in self.results(only)]`, built from the arrays column by column (no
        `MachineResult` objects; one formatting per distinct timestamp)."""
        at = np.asarray(only, dtype=np.int64) if only is not None else slice(None)
        ids = [self.machine_ids[i] for i in only] if only is not None else self.machine_ids
        types = [self.machine_types[i] for i in only] if only is not None else self.machine_types
        ts = [iso_utc(t) for t in to_datetimes(self.ts[at].tolist())]
        score, health = _finite_list(self.score[at], 4), _finite_list(self.health[at], 2)
        anom, brk = self.is_anomaly[at].tolist(), self.correlation_breaks[at].tolist()
        det = [DETECTORS[d] for d in self.detector[at].tolist()]
        strat = [STRATEGIES[s] if s >= 0 else None for s in self.strategy[at].tolist()]
        est = self.rul_s[at]
        ruls: list[JsonValue] = [None] * len(ids)
        with_rul = np.flatnonzero(np.isfinite(est))
        if with_rul.shape[0]:
            hi = self.rul_upper_s[at][with_rul]
            for i, seconds, lower, upper in zip(
                with_rul.tolist(),
                _finite_list(est[with_rul], 1),
                _finite_list(self.rul_lower_s[at][with_rul], 1),
                _finite_list(hi, 1),
                strict=True,
            ):
                ruls[i] = {"seconds": seconds, "lower_s": lower, "upper_s": upper}
        explanations = self.explanations
        return [
            {
                "machine_id": machine_id,
                "machine_type": types[i],
                "ts": ts[i],
                "score": score[i],
                "is_anomaly": bool(anom[i]),
                "detector": det[i],
                "explanation": [c.to_dict() for c in explanations.get(machine_id, ())],
                "health": health[i],
                "rul": ruls[i],
                "strategy": strat[i],
                "correlation_breaks": int(brk[i]),
            }
            for i, machine_id in enumerate(ids)
        ]

    def to_dict(self) -> list[dict[str, JsonValue]]:
        return self.dicts()


@dataclass(frozen=True)
class ReadingScores:
    """Per input reading, aligned with the input order (`score_batch`: items in order, each item's readings
    in dict order). `scored` is False for readings skipped as duplicates, late (not after the series' last
    timestamp) or non-finite; their score is 0."""

    row: I64  # the item / row the reading belongs to
    slot: I64  # series slot (`ScoringEngine.series_name(slot)`)
    score: F64
    detector: I8
    z: F64
    expected: F64
    scored: Bool


@dataclass(frozen=True)
class RowScores:
    """Per input row (`score_batch`: per item). `level`: the machine's alarm level at that instant, the
    maximum of its readings' scores and the multivariate score of its sensor vector (evidence 1 = 0.5: what
    the anomaly thresholds, events and health use). `score`: the calibrated score, `1 - p` where `p` is the
    tail probability of the row's evidence against the machine's own recent rows (`calibration.py`): 0.99
    is about one row in a hundred on the machine's normal data, and a state that persists stops being rare;
    what `dtwin anomaly backtest` writes. `alarm`: the row alarms, by the calibrated score, or by the level
    where the machine is new or the evidence is an operating limit (EngineConfig.alarm_score)."""

    machine: I64  # machine slot, -1 for empty rows
    ts: F64
    score: F64
    detector: I8
    scored: Bool
    level: F64
    alarm: Bool  # the row alarms (EngineConfig.alarm_score): what starts an anomaly episode


@dataclass(frozen=True)
class BatchScores:
    readings: ReadingScores
    rows: RowScores
    machines: MachineScores
    events: list[AnomalyEvent]
    decisions: list[Decision]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "readings": int(self.readings.score.shape[0]),
            "scored": int(np.count_nonzero(self.readings.scored)),
            "machines": list(self.machines.to_dict()),
            "events": [e.to_dict() for e in self.events],
            "decisions": [d.to_dict() for d in self.decisions],
        }


@dataclass(frozen=True, slots=True)
class CorrelationBreak:
    sensor_a: str
    sensor_b: str
    baseline: float
    recent: float

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "sensor_a": self.sensor_a,
            "sensor_b": self.sensor_b,
            "baseline": finite(self.baseline, 3),
            "recent": finite(self.recent, 3),
        }


class CorrelationReport(NamedTuple):
    """`sensors`, their correlation `matrix` over the machine's recent window (NaN where undefined) and the
    pairs whose correlation broke away from the long-run baseline."""

    sensors: list[str]
    matrix: F64
    breaks: list[CorrelationBreak]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "sensors": list(self.sensors),
            "matrix": [[None if v != v else v for v in row] for row in _rounded(self.matrix, 4)],
            "breaks": [b.to_dict() for b in self.breaks],
        }
