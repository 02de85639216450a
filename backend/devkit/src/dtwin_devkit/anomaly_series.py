"""Synthetic univariate series with injected anomalies, by structure class (issue #22): daily and weekly
seasonality, trends, level shifts and variance changes that become the new normal, irregular sampling with
gaps, counters and integer series, flat lines that suddenly move, and a noise-only control; anomalies are
spikes, dips, level shifts, variance changes, drifts, stuck values and seasonal pattern breaks. Each builder
is a pure function of its random generator; `anomaly_corpus.py` seeds them and writes the files."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dtwin.anomalies.nab import anomaly_windows
from dtwin.anomalies.scan import F64, I64

T0 = 1767571200  # 2026-01-05 00:00 UTC, a Monday
ROWS = 4000
ANOMALIES_PER_SERIES = 3
KINDS = ("spike", "dip", "level_shift", "variance_change", "drift", "stuck", "seasonal_break")
# the seasonal classes take the kinds in this order, so each of them gets two pattern breaks
SEASONAL_KINDS = ("seasonal_break", *KINDS[:6])
# how long the temporary anomalies last (rows): short enough to end inside their NAB window (66 rows after
# the onset at 4,000 rows and 3 anomalies), so their end is not a second, unlabelled event
SHIFT_ROWS, VARIANCE_ROWS, STUCK_ROWS, DRIFT_ROWS, BREAK_ROWS = 40, 50, 40, 60, 60


@dataclass(frozen=True, slots=True)
class Anomaly:
    row: int
    kind: str


@dataclass(frozen=True)
class CorpusSeries:
    """One labelled series: epoch-second timestamps, values (NaN = missing), the anomalies' onset rows and
    kinds, and how many decimals its CSV keeps."""

    structure: str
    name: str
    ts: I64
    values: F64
    anomalies: tuple[Anomaly, ...]
    decimals: int

    def windows(self) -> I64:
        """NAB's windows around the anomalies (row ranges, inclusive)."""
        return anomaly_windows(self.ts.shape[0], [a.row for a in self.anomalies])


@dataclass
class _Parts:
    """A series under construction: components summed at the end, so an anomaly can act on the one it
    concerns (a variance change on the noise, a pattern break on the seasonal part)."""

    level: F64
    seasonal: F64
    noise: F64
    sigma: float  # the noise scale anomaly magnitudes are relative to
    period_rows: int = 0  # rows per season (seasonal classes)
    stuck: list[int] = field(default_factory=list)  # onsets of stuck values (applied to the sum)
    permanent: frozenset[str] = frozenset()  # kinds that become the new normal in this class

    def total(self) -> F64:
        x = self.level + self.seasonal + self.noise
        for row in self.stuck:
            x[row : row + STUCK_ROWS] = x[row - 1]
        return x


def _onsets(rng: np.random.Generator, n: int, count: int) -> list[int]:
    """Anomaly onsets spread over [22%, 93%] of the series (after NAB's probationary 15% and the first
    window's half), one per equal segment, far enough apart that no windows overlap."""
    lo, hi = 0.22 * n, 0.93 * n
    seg = (hi - lo) / count
    return [int(lo + seg * j + rng.integers(int(0.15 * seg), int(0.6 * seg))) for j in range(count)]


def _kinds(pool: tuple[str, ...], k: int) -> list[str]:
    """The kinds of series `k` of a class: the pool in turn, so the class's series cover all of it."""
    return [pool[(ANOMALIES_PER_SERIES * k + j) % len(pool)] for j in range(ANOMALIES_PER_SERIES)]


def _inject(p: _Parts, row: int, kind: str, rng: np.random.Generator) -> None:
    """Put one anomaly of `kind` at `row` into the components (in place)."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    keep = kind in p.permanent
    if kind in ("spike", "dip"):
        p.level[row] += (1.0 if kind == "spike" else -1.0) * rng.uniform(6.0, 9.0) * p.sigma
    elif kind == "level_shift":
        p.level[row : None if keep else row + SHIFT_ROWS] += sign * rng.uniform(5.0, 8.0) * p.sigma
    elif kind == "variance_change":
        factor = rng.uniform(3.0, 5.0) if not keep or rng.random() < 0.6 else rng.uniform(0.15, 0.3)
        p.noise[row : None if keep else row + VARIANCE_ROWS] *= factor
    elif kind == "drift":  # a ramp that then holds: the sensor is off from now on
        size = sign * rng.uniform(6.0, 10.0) * p.sigma
        p.level[row : row + DRIFT_ROWS] += np.linspace(0.0, size, DRIFT_ROWS)
        p.level[row + DRIFT_ROWS :] += size
    elif kind == "stuck":
        p.stuck.append(row)
    elif kind == "seasonal_break":  # the pattern half a season out of phase: each value is normal on its own
        half = p.period_rows // 2
        p.seasonal[row : row + BREAK_ROWS] = p.seasonal[row - half : row - half + BREAK_ROWS].copy()
    else:
        raise ValueError(f"unknown anomaly kind {kind!r}")


def _white(rng: np.random.Generator, n: int, sigma: float) -> F64:
    return rng.normal(0.0, sigma, n)


def _ar1(rng: np.random.Generator, n: int, sigma: float, phi: float) -> F64:
    """AR(1) noise with marginal standard deviation `sigma`."""
    e = rng.normal(0.0, sigma * math.sqrt(1.0 - phi * phi), n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sigma)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out


def _finish(
    structure: str, k: int, ts: I64, p: _Parts, kinds: list[str], rng: np.random.Generator, decimals: int
) -> CorpusSeries:
    rows = _onsets(rng, ts.shape[0], len(kinds)) if kinds else []
    for row, kind in zip(rows, kinds, strict=True):
        _inject(p, row, kind, rng)
    anomalies = tuple(Anomaly(r, kd) for r, kd in zip(rows, kinds, strict=True))
    return CorpusSeries(structure, f"{structure}_{k + 1}", ts, p.total(), anomalies, decimals)


def _grid(n: int, step_s: int) -> I64:
    return T0 + step_s * np.arange(n, dtype=np.int64)


# ------------------------------------------------------------------------------------------- classes
def seasonal_daily(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Every 5 min (288 a day): a two-peaked daily cycle swinging 10-50 noise sigmas around a level."""
    ts = _grid(n, 300)
    phase = 2.0 * math.pi * ((ts - T0) % 86400) / 86400.0
    amp = rng.uniform(4.0, 7.0)
    seasonal = amp * np.sin(phase - 2.0) + 0.5 * amp * np.sin(2.0 * phase + rng.uniform(0.0, 3.0))
    sigma = rng.uniform(0.4, 0.7)
    p = _Parts(np.full(n, rng.uniform(20.0, 80.0)), seasonal, _white(rng, n, sigma), sigma, 288)
    return _finish("seasonal_daily", k, ts, p, _kinds(SEASONAL_KINDS, k), rng, 3)


def seasonal_weekly(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Hourly (168 a week): busy working hours on weekdays, quiet nights and weekends."""
    ts = _grid(n, 3600)
    hour = ((ts - T0) % 86400) // 3600
    weekday = ((ts - T0) % (7 * 86400)) // 86400 < 5
    busy = rng.uniform(20.0, 35.0)
    shape = np.clip(np.sin(math.pi * (hour - 6) / 12.0), 0.0, None)  # daytime bump, 06:00-18:00
    seasonal = busy * shape * np.where(weekday, 1.0, 0.2)
    sigma = rng.uniform(1.5, 2.5)
    p = _Parts(np.full(n, rng.uniform(50.0, 150.0)), seasonal, _ar1(rng, n, sigma, 0.3), sigma, 168)
    return _finish("seasonal_weekly", k, ts, p, _kinds(SEASONAL_KINDS, k), rng, 2)


def trend(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Every 5 min: a steady rise or fall of 20-40 noise sigmas over the series (a curve on every other)."""
    ts = _grid(n, 300)
    sigma = rng.uniform(0.3, 0.6)
    u = np.linspace(0.0, 1.0, n)
    slope = (1.0 if k % 2 == 0 else -1.0) * rng.uniform(20.0, 40.0) * sigma
    level = rng.uniform(10.0, 60.0) + slope * (u if k < 2 else u * u)
    p = _Parts(level, np.zeros(n), _white(rng, n, sigma), sigma)
    return _finish("trend", k, ts, p, _kinds(KINDS[:6], k), rng, 3)


def level_shift_new_normal(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Every minute, a level that shifts for good twice (labelled: the shift is news, the new level is not);
    another anomaly in between."""
    ts = _grid(n, 60)
    sigma = rng.uniform(0.2, 0.4)
    p = _Parts(
        np.full(n, rng.uniform(5.0, 15.0)),
        np.zeros(n),
        _ar1(rng, n, sigma, 0.5),
        sigma,
        permanent=frozenset({"level_shift"}),
    )
    middle = ("spike", "dip", "stuck", "variance_change")[k % 4]
    return _finish("level_shift_new_normal", k, ts, p, ["level_shift", middle, "level_shift"], rng, 3)


def variance_change(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Every minute, noise whose spread changes for good twice (labelled); another anomaly in between."""
    ts = _grid(n, 60)
    sigma = rng.uniform(0.5, 1.5)
    p = _Parts(
        np.full(n, rng.uniform(-10.0, 10.0)),
        np.zeros(n),
        _white(rng, n, sigma),
        sigma,
        permanent=frozenset({"variance_change"}),
    )
    middle = ("spike", "dip", "level_shift", "drift")[k % 4]
    return _finish("variance_change", k, ts, p, ["variance_change", middle, "variance_change"], rng, 3)


def irregular_gaps(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Irregular sampling (5 s + exponential, ~1 min on average), four gaps of 1-4 h with no rows, ~1% of
    values missing; the level wanders (Ornstein-Uhlenbeck, 2 h time constant), so it may have moved across
    a gap. Gaps and missing values keep clear of the anomalies (a gap is not one)."""
    kinds = _kinds(KINDS[:6], k)
    rows = _onsets(rng, n, len(kinds))
    clear = np.ones(n, dtype=np.bool_)
    for row in rows:
        clear[max(row - 100, 0) : row + 100] = False
    steps = 5 + rng.exponential(55.0, n - 1).astype(np.int64)
    for row in rng.choice(np.flatnonzero(clear[200 : n - 200]) + 200, 4, replace=False).tolist():
        steps[row] += int(rng.integers(3600, 4 * 3600))
    ts = T0 + np.concatenate(([0], np.cumsum(steps)))
    sigma = rng.uniform(0.3, 0.6)
    level = np.empty(n)
    level[0] = 0.0
    decay = np.exp(-np.diff(ts) / 7200.0)
    kicks = rng.normal(0.0, 1.0, n - 1) * 3.0 * sigma * np.sqrt(1.0 - decay * decay)
    for i in range(1, n):
        level[i] = decay[i - 1] * level[i - 1] + kicks[i - 1]
    p = _Parts(level + rng.uniform(20.0, 40.0), np.zeros(n), _white(rng, n, sigma), sigma)
    for row, kind in zip(rows, kinds, strict=True):
        _inject(p, row, kind, rng)
    near = np.zeros(n, dtype=np.bool_)
    for row in rows:
        near[row - 2 : row + 3] = True
    missing = (rng.random(n) < 0.01) & ~near  # an anomaly's own rows keep their value
    return CorpusSeries(
        "irregular_gaps",
        f"irregular_gaps_{k + 1}",
        ts,
        np.where(missing, np.nan, p.total()),
        tuple(Anomaly(r, kd) for r, kd in zip(rows, kinds, strict=True)),
        3,
    )


def _counts(rng: np.random.Generator, n: int, rate: F64, kinds: list[str]) -> tuple[I64, tuple[Anomaly, ...]]:
    """Poisson counts per interval with anomalies acting on the rate or the counts."""
    rows = _onsets(rng, n, len(kinds))
    lam = rate.copy()
    for row, kind in zip(rows, kinds, strict=True):
        if kind == "level_shift":
            lam[row : row + SHIFT_ROWS] *= rng.uniform(3.0, 4.0)
        elif kind == "drift":
            lam[row : row + DRIFT_ROWS] *= np.linspace(1.0, 2.5, DRIFT_ROWS)
            lam[row + DRIFT_ROWS :] *= 2.5
    counts = rng.poisson(lam).astype(np.int64)
    for row, kind in zip(rows, kinds, strict=True):
        if kind == "variance_change":  # over-dispersed: bursts and silences, same mean
            counts[row : row + VARIANCE_ROWS] = rng.poisson(
                lam[row : row + VARIANCE_ROWS] * rng.gamma(0.3, 1 / 0.3, VARIANCE_ROWS)
            )
        elif kind == "spike":
            counts[row] += int(np.ceil(8.0 * np.sqrt(lam[row]) + 10.0))
        elif kind == "dip":  # nothing counted for a while where plenty is usual
            counts[row : row + SHIFT_ROWS] = 0
        elif kind == "stuck":
            counts[row : row + STUCK_ROWS] = counts[row - 1]
    return counts, tuple(Anomaly(r, kd) for r, kd in zip(rows, kinds, strict=True))


def counter_integer(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Integers: events counted per 5 min with a daily rhythm (series 1 and 2; the second mostly 0s and 1s),
    and cumulative counters sampled every minute (series 3 and 4: the total of an event stream, rising)."""
    if k < 2:
        ts = _grid(n, 300)
        phase = 2.0 * math.pi * ((ts - T0) % 86400) / 86400.0
        base = (12.0, 1.5)[k]
        rate = base * (1.0 + 0.6 * np.sin(phase - 2.0))
        pool: tuple[str, ...] = ("spike", "level_shift", "stuck", "drift", "variance_change", "dip")
        counts, anomalies = _counts(rng, n, rate, _kinds(pool, k))
        values = counts.astype(np.float64)
    else:
        ts = _grid(n, 60)
        rate = np.full(n, (25.0, 3.0)[k - 2])
        pool = ("spike", "stuck", "level_shift", "drift")
        counts, anomalies = _counts(rng, n, rate, _kinds(pool, k))
        stuck = [a.row for a in anomalies if a.kind == "stuck"]
        for row in stuck:  # a stuck counter stops counting (its increments are 0), it does not repeat them
            counts[row : row + STUCK_ROWS] = 0
        values = (int(rng.integers(10_000, 5_000_000)) + np.cumsum(counts)).astype(np.float64)
    return CorpusSeries("counter_integer", f"counter_integer_{k + 1}", ts, values, anomalies, 0)


def flat_then_moves(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Every minute, a flat line (exactly one value; series 3 and 4 with a last-digit flicker at 0.1
    resolution) that suddenly moves: a jump to a new flat level, a burst of noise, a ramp to a new level,
    a lone outlier."""
    ts = _grid(n, 60)
    flicker = 0.03 if k >= 2 else 0.0
    sigma = 1.0  # the size of a move, not of a noise that is not there
    p = _Parts(
        np.full(n, float(rng.choice([0.0, 42.0, 100.0, 7.5]))),
        np.zeros(n),
        np.zeros(n),
        sigma,
        permanent=frozenset({"level_shift"}),
    )
    kinds = _kinds(("level_shift", "variance_change", "drift", "spike", "dip"), k)
    rows = _onsets(rng, n, len(kinds))
    for row, kind in zip(rows, kinds, strict=True):
        if kind == "variance_change":  # it starts moving (noise of 1) for a while, then sits flat again
            p.noise[row : row + VARIANCE_ROWS] = rng.normal(0.0, 1.0, VARIANCE_ROWS)
        else:
            _inject(p, row, kind, rng)
    values = p.total() + (rng.normal(0.0, flicker, n) if flicker else 0.0)
    return CorpusSeries(
        "flat_then_moves",
        f"flat_then_moves_{k + 1}",
        ts,
        np.round(values, 1) if flicker else values,
        tuple(Anomaly(r, kd) for r, kd in zip(rows, kinds, strict=True)),
        1 if flicker else 3,
    )


def noise_control(rng: np.random.Generator, k: int, n: int = ROWS) -> CorpusSeries:
    """Every minute, noise and nothing else (no anomaly: every detection is a false positive): white noise
    (series 1 and 2) and AR(1) noise with phi 0.8 (series 3 and 4)."""
    ts = _grid(n, 60)
    sigma = rng.uniform(0.2, 2.0)
    noise = _white(rng, n, sigma) if k < 2 else _ar1(rng, n, sigma, 0.8)
    p = _Parts(np.full(n, rng.uniform(-20.0, 20.0)), np.zeros(n), noise, sigma)
    return _finish("noise_control", k, ts, p, [], rng, 3)


Builder = Callable[[np.random.Generator, int, int], CorpusSeries]
CLASSES: dict[str, Builder] = {
    "seasonal_daily": seasonal_daily,
    "seasonal_weekly": seasonal_weekly,
    "trend": trend,
    "level_shift_new_normal": level_shift_new_normal,
    "variance_change": variance_change,
    "irregular_gaps": irregular_gaps,
    "counter_integer": counter_integer,
    "flat_then_moves": flat_then_moves,
    "noise_control": noise_control,
}
