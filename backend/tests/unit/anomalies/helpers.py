"""Synthetic series and small drivers for the scoring engine tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.results import BatchScores, ReadingScores
from dtwin.contracts.telemetry import Telemetry

F64 = npt.NDArray[np.float64]
T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def series_engine(
    sensor: str = "value",
    limits: tuple[float, float] | None = None,
    config: EngineConfig | None = None,
) -> tuple[ScoringEngine, npt.NDArray[np.int64]]:
    engine = ScoringEngine(config, limits={"t": {sensor: limits}} if limits else None)
    return engine, engine.register("m1", "t", [sensor])


def score_series(
    x: Sequence[float] | F64,
    *,
    limits: tuple[float, float] | None = None,
    config: EngineConfig | None = None,
    step_s: float = 1.0,
) -> ReadingScores:
    """One series through a fresh engine in a single batch (the engine scans it in time order)."""
    engine, slot = series_engine(limits=limits, config=config)
    values = np.asarray(x, dtype=np.float64)
    n = values.shape[0]
    ts = T0.timestamp() + step_s * np.arange(n, dtype=np.float64)
    return engine.score_arrays(np.repeat(slot, n), ts, values, np.arange(n, dtype=np.int64)).readings


def machine_rows(
    engine: ScoringEngine,
    machine_id: str,
    machine_type: str,
    sensors: Sequence[str],
    values: F64,
    *,
    start_s: float = 0.0,
    step_s: float = 1.0,
) -> BatchScores:
    """Rows (time x sensors) of one machine as one batch."""
    slots = engine.register(machine_id, machine_type, sensors)
    n, f = values.shape
    ts = T0.timestamp() + start_s + step_s * np.arange(n, dtype=np.float64)
    return engine.score_arrays(
        np.tile(slots, n),
        np.repeat(ts, f),
        values.reshape(-1),
        np.repeat(np.arange(n, dtype=np.int64), f),
        n_rows=n,
    )


def telemetry(
    machine_id: str, second: float, readings: Mapping[str, float], machine_type: str = "pump"
) -> Telemetry:
    return Telemetry(machine_id, machine_type, T0 + timedelta(seconds=second), dict(readings))


def first_alarm(scores: F64, start: int, threshold: float = 0.5) -> int | None:
    hits = np.flatnonzero(scores[start:] >= threshold)
    return int(hits[0]) if hits.shape[0] else None
