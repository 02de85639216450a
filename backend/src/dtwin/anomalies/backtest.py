"""Backtest: stream a CSV through the very same `ScoringEngine` in chunks (memory bounded) and write one
anomaly score per input row. Input, told apart by the header: wide, `timestamp,value` (one series) or
`timestamp,<sensor>,...` (one machine), one row per instant; or long, `timestamp,sensor,value[,quality]`
(the API's `export.csv`), one row per reading, pivoted into one row per instant. Timestamps ISO 8601
(no offset = UTC) or epoch seconds. Output: `timestamp,anomaly_score`, one row per instant."""

from __future__ import annotations

import csv
import itertools
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import numpy as np

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.scan import F64, I64
from dtwin.anomalies.type_model import fit_model
from dtwin.contracts.limits import SENSOR_PATTERN

Range = tuple[float, float]

LONG_HEADER = ("timestamp", "sensor", "value")  # then optionally "quality": GET .../export.csv
MAX_HEADER_CHARS = 65536  # 128 sensors of 64 characters fit 8 times over
MAX_LONG_LINE_CHARS = 1024  # one reading: a timestamp, a sensor name (<= 64), a number, a quality
_SENSOR_RE = re.compile(SENSOR_PATTERN)
_QUALITIES = ("good", "uncertain", "bad")  # "bad" readings are not scored, as in the consumer


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
    first = src.readline(MAX_HEADER_CHARS + 1)
    if len(first) > MAX_HEADER_CHARS:
        raise BacktestError(f"line 1: header longer than {MAX_HEADER_CHARS} characters")
    header = next(csv.reader([first]), None)
    if not header or header[0].strip().lower() != "timestamp" or len(header) < 2:
        raise BacktestError(
            "line 1: header must be 'timestamp,value', 'timestamp,<sensor>,<sensor>...' or "
            "'timestamp,sensor,value[,quality]' (the API's CSV export)"
        )
    names = tuple(h.strip().lower() for h in header)
    if names in (LONG_HEADER, (*LONG_HEADER, "quality")):
        return _run_long(
            src,
            dst,
            has_quality=len(names) == 4,
            engine=ScoringEngine(config, limits={machine_type: dict(limits)} if limits else None),
            machine_type=machine_type,
            machine_id=machine_id,
            chunk_rows=chunk_rows,
            train=train,
            started=started,
        )
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
    return _score_rows(engine, stamps, _timestamps(stamps, first_line), values, slots, dst)


def _score_rows(
    engine: ScoringEngine, stamps: list[str], ts: F64, values: F64, slots: I64, dst: TextIO
) -> int:
    """Score rows (one per instant: `values` is rows x sensors, NaN = missing) and write their scores;
    returns the rows that had readings scored."""
    n, n_sensors = len(stamps), len(slots)
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


@dataclass(slots=True)
class _Instant:
    """The readings of one instant of a long file, as they are pivoted into one row."""

    stamp: str  # as written on its first line
    ts: float
    values: dict[int, float]  # sensor column -> value (NaN: empty or quality "bad")


def _long_instants(
    src: TextIO, *, has_quality: bool, sensors: dict[str, int], max_sensors: int
) -> Iterator[_Instant]:
    """The instants of a long file (`timestamp,sensor,value[,quality]`, line 2 on), in file order:
    consecutive lines with the same timestamp make one instant. New sensor names get the next column in
    `sensors`. Hostile input meets limits, never unbounded memory: a line is read up to
    `MAX_LONG_LINE_CHARS`, at most `max_sensors` names, one reading per sensor and instant."""
    width = 4 if has_quality else 3
    current: _Instant | None = None
    prev_stamp, prev_ts = "", math.nan
    line_no = 1
    while raw := src.readline(MAX_LONG_LINE_CHARS + 1):
        line_no += 1
        if len(raw) > MAX_LONG_LINE_CHARS:
            raise BacktestError(f"line {line_no}: longer than {MAX_LONG_LINE_CHARS} characters")
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue  # blank lines (a trailing one) carry nothing
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            raise BacktestError(f"line {line_no}: {exc}") from None
        if len(cells) != width:
            raise BacktestError(f"line {line_no}: expected {width} cells, got {len(cells)}")
        stamp, name = cells[0].strip(), cells[1].strip()
        if stamp != prev_stamp:
            try:
                prev_ts = parse_timestamp(stamp)
            except ValueError:
                raise BacktestError(f"line {line_no}: bad timestamp {stamp!r}") from None
            if not math.isfinite(prev_ts):
                raise BacktestError(f"line {line_no}: bad timestamp {stamp!r}")
            prev_stamp = stamp
        if not _SENSOR_RE.fullmatch(name):
            raise BacktestError(f"line {line_no}: sensor: bad name {name[:80]!r} (pattern {SENSOR_PATTERN})")
        value = _cell(cells[2], line_no, name)
        if has_quality:
            quality = cells[3].strip().lower()
            if quality not in _QUALITIES:
                raise BacktestError(f"line {line_no}: quality: expected one of {', '.join(_QUALITIES)}")
            if quality == "bad":
                value = math.nan
        column = sensors.get(name)
        if column is None:
            if len(sensors) >= max_sensors:
                raise BacktestError(f"line {line_no}: more than {max_sensors} sensors per machine type")
            column = sensors[name] = len(sensors)
        if current is None or prev_ts != current.ts:
            if current is not None:
                yield current
            current = _Instant(stamp, prev_ts, {})
        elif column in current.values:
            raise BacktestError(f"line {line_no}: a second {name} reading at {stamp}")
        current.values[column] = value
    if current is not None:
        yield current


def _run_long(
    src: TextIO,
    dst: TextIO,
    *,
    has_quality: bool,
    engine: ScoringEngine,
    machine_type: str,
    machine_id: str,
    chunk_rows: int,
    train: bool,
    started: float,
) -> BacktestStats:
    """`run_backtest` over a long file: instants are pivoted into rows (a sensor without a reading at an
    instant is missing there) and scored `chunk_rows` rows per batch, like a wide file's rows."""
    sensors: dict[str, int] = {}
    instants = _long_instants(
        src, has_quality=has_quality, sensors=sensors, max_sensors=engine.config.max_sensors_per_type
    )
    slots = np.empty(0, dtype=np.int64)
    dst.write("timestamp,anomaly_score\n")
    rows = scored = fitted = 0
    while batch := list(itertools.islice(instants, chunk_rows)):
        if len(sensors) > len(slots):  # names seen for the first time get their series now
            names = sorted(sensors, key=sensors.__getitem__)
            slots = np.concatenate([slots, engine.register(machine_id, machine_type, names[len(slots) :])])
        values = np.full((len(batch), len(slots)), np.nan)
        for i, instant in enumerate(batch):
            values[i, list(instant.values)] = list(instant.values.values())
        ts = np.fromiter((instant.ts for instant in batch), dtype=np.float64, count=len(batch))
        scored += _score_rows(engine, [instant.stamp for instant in batch], ts, values, slots, dst)
        rows += len(batch)
        if train:
            for job in engine.training_due():
                engine.install_model(fit_model(*job, trained_at=engine.now))
                fitted += 1
    order = tuple(sorted(sensors, key=sensors.__getitem__))
    return BacktestStats(rows, scored, order, time.perf_counter() - started, fitted)
