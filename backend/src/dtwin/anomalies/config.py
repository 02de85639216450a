"""Configuration of the scoring engine: one frozen dataclass per part, all with working defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from dtwin.anomalies.calibration import CalibrationConfig
from dtwin.anomalies.correlation import CorrelationConfig
from dtwin.anomalies.decisions import DecisionConfig
from dtwin.anomalies.detectors import DetectorConfig
from dtwin.anomalies.ensemble import EnsembleConfig
from dtwin.anomalies.health import HealthConfig
from dtwin.anomalies.type_model import TrainingPolicy
from dtwin.contracts.limits import DEFAULT_LIMITS

Range = tuple[float, float]
LimitsSource = Mapping[str, Mapping[str, Range]] | Callable[[str, str], Range | None]


@runtime_checkable
class VersionedLimits(Protocol):
    """A limits callable that can change: when `version` moves, the engine re-reads the range of every
    series it knows before its next batch (the machine-type registry's `OperatingRanges`)."""

    @property
    def version(self) -> int: ...

    def __call__(self, machine_type: str, sensor: str) -> Range | None: ...


@dataclass(frozen=True)
class EngineConfig:
    detectors: DetectorConfig = field(default_factory=DetectorConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    correlation: CorrelationConfig = field(default_factory=CorrelationConfig)
    decisions: DecisionConfig = field(default_factory=DecisionConfig)
    training: TrainingPolicy = field(default_factory=TrainingPolicy)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    # how the detectors' evidence makes a row's calibrated score (ensemble.py; combine "max": as before)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    threshold: float = 0.5  # anomaly threshold on the score, for types not in `thresholds`
    thresholds: Mapping[str, float] = field(default_factory=dict)
    # a row alarms (starts an episode) when its calibrated score reaches this: its evidence is rarer than 1
    # in 2,000 of its machine's recent rows. Two exceptions keep the level's rule (level >= threshold):
    # a machine whose calibration holds less than `warm_weight` of its full weight (its first ~700 rows,
    # which cannot reach the score yet), and a row whose evidence is an operating limit (absolute: a machine
    # beyond its range stays in alarm after calibration has learnt the level). None: the level's rule only.
    alarm_score: float | None = 0.9995
    warm_weight: float = 0.5
    event_min_change: float = 0.15  # an active anomaly re-emits when its score rose this much
    resolve_ratio: float = 0.8  # ...and resolves below threshold x this...
    resolve_after: int = 3  # ...for this many consecutive batches
    explain_top: int = 3  # sensors named per explanation
    # a sensor missing from a machine's message keeps its last value in the type model's vector for this
    # long; after that it is missing and the model judges the other sensors without it (a dropout)
    carry_max_s: float = 30.0
    skip_stale: bool = True  # ignore readings not after their series' last timestamp (redelivery, late)
    # distinct sensor names a machine type may have in the engine; readings of further names are ignored
    # (counted in `ScoringEngine.refused_readings`), so the engine stays bounded even without validation
    max_sensors_per_type: int = DEFAULT_LIMITS.max_sensors_per_type
    # settling window after an operator command (a type without `settle_s` in the catalogue gets the
    # default); any length is bounded by `settle_max_s`, so a command can never mute sensors for long
    settle_default_s: float = 120.0
    settle_max_s: float = 1800.0

    def settle_window_s(self, type_s: float | None) -> float:
        """The settling window of a type (its own length, or the default), within (0, settle_max_s]."""
        s = self.settle_default_s if type_s is None or not type_s > 0 else type_s
        return min(s, self.settle_max_s)
