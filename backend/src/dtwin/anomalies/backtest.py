"""Backtest: stream a CSV through the very same `ScoringEngine` in chunks (memory bounded) and write one
anomaly score per input row. Input: `timestamp,value` (one series) or `timestamp,<sensor>,...` (one machine);
timestamps ISO 8601 (no offset = UTC) or epoch seconds. Output: `timestamp,anomaly_score`."""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import numpy as np

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.scan import F64, I64
from dtwin.anomalies.type_model import fit_model

Range = tuple[float, float]


class BacktestError(ValueError):
    """The input cannot be backtested (bad header, unparsable cell); the message names the line."""


@dataclass(frozen=True, slots=True)
class BacktestStats:
    rows: int
    scored_rows: int  # rows with at least one reading scored (others: empty, duplicate or out-of-order)
    sensors: tuple[str, ...]
    seconds: float
    models_fitted: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else math.inf


def parse_timestamp(text: str) -> float:
    """ISO 8601 (a `Z` or offset, or none = UTC) or epoch seconds -> epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _timestamps(stamps: list[str], first_line: int) -> F64:
    """Epoch seconds of a chunk's timestamps; the format is guessed from the first one (fast path), any
    failure falls back to one-by-one parsing that names the bad line."""
    try:
        if stamps and _is_number(stamps[0]):
            return np.asarray(stamps, dtype=np.float64)
        out = []
        for s in stamps:
            dt = datetime.fromisoformat(s)
            out.append((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
        return np.asarray(out, dtype=np.float64)
    except ValueError:
        pass
    slow = np.empty(len(stamps))
    for i, s in enumerate(stamps):
        try:
            slow[i] = parse_timestamp(s)
        except ValueError:
            raise BacktestError(f"line {first_line + i}: bad timestamp {s!r}") from None
    return slow


def _cell(text: str, line: int, column: str) -> float:
    c = text.strip()
    if not c:
        return math.nan
    try:
        return float(c)
    except ValueError:
        raise BacktestError(f"line {line}: {column}: not a number: {c!r}") from None


def _parse_chunk(lines: list[str], first_line: int, sensors: tuple[str, ...]) -> tuple[list[str], F64]:
    """Timestamps (as written) and values (rows x sensors, NaN = missing) of a chunk of raw lines. Fast path:
    numpy parses plain numeric columns; anything else (quotes, empty cells, errors) goes through `csv`."""
    n_sensors = len(sensors)
    if all(line.count(",") == n_sensors and '"' not in line for line in lines):
        try:
            values = np.loadtxt(
                lines,
                delimiter=",",
                usecols=range(1, n_sensors + 1),
                dtype=np.float64,
                ndmin=2,
                comments=None,
            )
            return [line[: line.index(",")] for line in lines], values
        except ValueError:
            pass
    rows = list(csv.reader(lines))
    stamps: list[str] = []
    values = np.empty((len(rows), n_sensors))
    for i, r in enumerate(rows):
        if len(r) != n_sensors + 1:
            raise BacktestError(f"line {first_line + i}: expected {n_sensors + 1} cells, got {len(r)}")
        stamps.append(r[0])
        values[i] = [_cell(c, first_line + i, sensors[j]) for j, c in enumerate(r[1:])]
    return stamps, values


def run_backtest(
    src: TextIO,
    dst: TextIO,
    *,
    machine_type: str = "backtest",
    machine_id: str = "backtest",
    chunk_rows: int = 8192,
    train: bool = True,
    limits: Mapping[str, Range] | None = None,
    config: EngineConfig | None = None,
) -> BacktestStats:
    """Score `src` into `dst` with a fresh engine, in file order, `chunk_rows` rows per batch (rows must be in
    time order; a row not after the previous one scores 0). With `train`, type models are fitted when the
    engine's policy asks, inline between chunks (deterministic; the service fits off the event loop)."""
    started = time.perf_counter()
    header = next(csv.reader([src.readline()]), None)
    if not header or header[0].strip().lower() != "timestamp" or len(header) < 2:
        raise BacktestError("line 1: header must be 'timestamp,value' or 'timestamp,<sensor>,<sensor>...'")
    sensors = tuple(h.strip() for h in header[1:])
    if len(set(sensors)) != len(sensors) or not all(sensors):
        raise BacktestError("line 1: sensor names must be unique and non-empty")
    engine = ScoringEngine(config, limits={machine_type: dict(limits)} if limits else None)
    if len(sensors) > engine.config.max_sensors_per_type:
        raise BacktestError(f"line 1: at most {engine.config.max_sensors_per_type} sensors per machine type")
    slots = engine.register(machine_id, machine_type, sensors)
    dst.write("timestamp,anomaly_score\n")
    rows = scored = fitted = 0
    while raw := list(itertools.islice(src, chunk_rows)):
        scored += _score_chunk(engine, raw, rows + 2, sensors, slots, dst)
        rows += len(raw)
        if train:
            for job in engine.training_due():
                engine.install_model(fit_model(*job, trained_at=engine.now))
                fitted += 1
    return BacktestStats(rows, scored, sensors, time.perf_counter() - started, fitted)


def _score_chunk(
    engine: ScoringEngine, raw: list[str], first_line: int, sensors: tuple[str, ...], slots: I64, dst: TextIO
) -> int:
    """Score one chunk of raw CSV lines and write its scores; returns the rows that had readings scored."""
    stamps, values = _parse_chunk([r.rstrip("\r\n") for r in raw], first_line, sensors)
    ts = _timestamps(stamps, first_line)
    n, n_sensors = len(stamps), len(sensors)
    present = np.isfinite(values).ravel()
    out = engine.score_arrays(
        np.tile(slots, n)[present],
        np.repeat(ts, n_sensors)[present],
        values.ravel()[present],
        np.repeat(np.arange(n, dtype=np.int64), n_sensors)[present],
        n_rows=n,
    )
    dst.write("".join(f"{t},{s:.6f}\n" for t, s in zip(stamps, out.rows.score.tolist(), strict=True)))
    return int(np.count_nonzero(out.rows.scored))
