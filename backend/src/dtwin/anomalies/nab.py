"""The Numenta Anomaly Benchmark score (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms -
the Numenta Anomaly Benchmark", IEEE ICMLA 2015; github.com/numenta/NAB, `nab/labeler.py`, `nab/sweeper.py`,
`nab/runner.py`): anomaly windows around labelled anomalies, a scaled-sigmoid reward for the earliest
detection in a window, a cost for every detection outside one, the threshold chosen per detector to maximise
its score over a corpus, and the score normalised between the null detector (0) and a perfect one (100).
Pure numpy over row indices (NAB works on rows; timestamps only name them); no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from dtwin.anomalies.scan import F64, I64

WINDOW_FRACTION = 0.10  # NAB's windowSize: all windows of a series together span 10% of its rows
PROBATION_FRACTION = 0.15  # NAB's probationaryPercent: rows a detector may learn on, never scored
PROBATION_CAP_ROWS = 5000  # ... at most 15% of 5,000 rows (750), however long the series
NULL_SCORE = 0.5  # NAB's null detector: the same score on every row
FAR_AFTER = (
    3.0  # a relative position at or past this costs a full false positive (and so does "no window yet")
)


@dataclass(frozen=True, slots=True)
class CostProfile:
    """An application profile of NAB (`config/profiles.json`): the weight of a window's true-positive reward,
    of each false-positive row and of each missed window."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = CostProfile("standard", tp=1.0, fp=0.11, fn=1.0)
REWARD_LOW_FP = CostProfile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0)
REWARD_LOW_FN = CostProfile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0)
PROFILES = (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)


def probation_rows(n_rows: int, fraction: float = PROBATION_FRACTION) -> int:
    """Rows at the start of a series that are never scored (NAB's `getProbationPeriod`)."""
    return int(min(math.floor(fraction * n_rows), fraction * PROBATION_CAP_ROWS))


def scaled_sigmoid(position: F64) -> F64:
    """NAB's reward curve over a position relative to a window, in window lengths from its right edge: -1.0 is
    the window's first row (0.9866), 0.0 its right edge (0), positive past it (a false positive's cost grows
    towards -1 with its distance; -1 from `FAR_AFTER` on)."""
    p = np.asarray(position, dtype=np.float64)
    out: F64 = np.where(p >= FAR_AFTER, -1.0, 2.0 / (1.0 + np.exp(np.minimum(5.0 * p, 700.0))) - 1.0)
    return out


MAX_TP = float(scaled_sigmoid(np.array(-1.0)))  # a detection at a window's first row earns the full tp weight


def anomaly_windows(
    n_rows: int,
    anomaly_rows: Sequence[int] | I64,
    *,
    window_fraction: float = WINDOW_FRACTION,
    probation_fraction: float = PROBATION_FRACTION,
) -> I64:
    """NAB's windows (`LabelCombiner.applyWindows` + `checkWindows`) as (k, 2) inclusive row ranges: each
    anomaly gets `int(window_fraction * n_rows / anomalies)` rows centred on it (half on each side, integer
    division, clipped to the series); the first window is dropped when it starts inside the probationary
    period; windows that touch or overlap are merged. NAB merges in one pass (a chain of three overlapping
    windows would leave two that overlap); this merges until none do, which is the same for any pair."""
    rows = np.sort(np.asarray(anomaly_rows, dtype=np.int64))
    if rows.shape[0] == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if rows[0] < 0 or rows[-1] >= n_rows:
        raise ValueError(f"anomaly rows must be within [0, {n_rows}), got {rows[0]}..{rows[-1]}")
    half = int(window_fraction * n_rows / rows.shape[0]) // 2
    windows = [[max(int(a) - half, 0), min(int(a) + half, n_rows - 1)] for a in rows.tolist()]
    if windows[0][0] < probation_rows(n_rows, probation_fraction):
        del windows[0]
    merged: list[list[int]] = []
    for w in windows:
        if merged and w[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], w[1])
        else:
            merged.append(w)
    return np.asarray(merged, dtype=np.int64).reshape(-1, 2)


def row_values(n_rows: int, windows: I64) -> tuple[F64, I64]:
    """What a detection at each row is worth before a profile's weights, and the window it falls in (-1 for
    none): inside a window the scaled sigmoid of its position, `-(right - row + 1) / width`, divided by its
    value at the first row (so the earliest detection earns exactly 1); after a window the scaled sigmoid of
    the distance past its right edge in `width - 1` rows (a cost in [-1, 0)); before the first window -1.
    NAB's `Sweeper.calcSweepScore`, vectorised; `windows` sorted and apart, as `anomaly_windows` gives them.
    A one-row window (NAB would divide by zero) counts distance in rows."""
    value = np.full(n_rows, -1.0)
    window = np.full(n_rows, -1, dtype=np.int64)
    rows = np.arange(n_rows, dtype=np.float64)
    for k, (left, right) in enumerate(windows.tolist()):
        width = right - left + 1
        inside = slice(left, right + 1)
        value[inside] = scaled_sigmoid(-(right - rows[inside] + 1.0) / width) / MAX_TP
        window[inside] = k
        after = slice(right + 1, int(windows[k + 1, 0]) if k + 1 < windows.shape[0] else n_rows)
        value[after] = scaled_sigmoid((rows[after] - right) / max(width - 1, 1))
    return value, window


@dataclass(frozen=True, slots=True)
class NabSeries:
    """Series as NAB scores them: the rows after each one's probationary period with the detector's score,
    the unweighted value of a detection there (`row_values`) and its window (-1: outside every window;
    ids run over all series of a corpus). `n_windows` counts windows with at least one scored row."""

    scores: F64
    value: F64
    window: I64
    n_windows: int

    @classmethod
    def of(cls, scores: F64, windows: I64, *, probation_fraction: float = PROBATION_FRACTION) -> NabSeries:
        """One series: a detector's score per row (finite; higher = more anomalous) and its windows."""
        s = np.asarray(scores, dtype=np.float64)
        if not np.all(np.isfinite(s)):
            raise ValueError("detector scores must be finite")
        value, window = row_values(s.shape[0], windows)
        keep = slice(probation_rows(s.shape[0], probation_fraction), None)
        window = window[keep]
        ids, compact = np.unique(window[window >= 0], return_inverse=True)
        window[window >= 0] = compact  # a window lying wholly in the probationary period is not scored
        return cls(s[keep].copy(), value[keep].copy(), window, int(ids.shape[0]))

    @classmethod
    def concat(cls, parts: Sequence[NabSeries]) -> NabSeries:
        """A corpus: the series one after the other, window ids kept apart."""
        if not parts:
            return cls(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64), 0)
        offsets = np.cumsum([0, *(p.n_windows for p in parts)])
        window = [np.where(p.window >= 0, p.window + o, -1) for p, o in zip(parts, offsets[:-1], strict=True)]
        return cls(
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.value for p in parts]),
            np.concatenate(window),
            int(offsets[-1]),
        )

    def null(self) -> NabSeries:
        """The same rows as scored by NAB's null detector (`NULL_SCORE` everywhere)."""
        return replace(self, scores=np.full(self.scores.shape[0], NULL_SCORE))


def sweep(s: NabSeries, profile: CostProfile) -> tuple[F64, F64]:
    """The raw score at every threshold that changes it (NAB's `Sweeper.calcScoreByThreshold`): thresholds in
    descending order, the first `inf` (nothing detected: every window missed), then each distinct score (rows
    scoring at or above it are detections). A window earns `tp x` the value of its earliest detection, or
    costs `fn` when it has none; every detection outside a window adds `fp x` its (negative) value."""
    order = np.argsort(-s.scores, kind="stable")
    a, v, w = s.scores[order], s.value[order], s.window[order]
    gain = np.where(w < 0, profile.fp * v, 0.0)
    # a window's best value so far only improves when a detection earlier in the window joins
    inside = np.flatnonzero(w >= 0)
    by_window = inside[np.argsort(w[inside], kind="stable")]
    bounds = np.searchsorted(w[by_window], np.arange(s.n_windows + 1))
    for k in range(s.n_windows):
        pos = by_window[bounds[k] : bounds[k + 1]]
        best = np.maximum.accumulate(np.maximum(profile.tp * v[pos], -profile.fn))
        gain[pos] = np.diff(best, prepend=-profile.fn)
    total = -profile.fn * s.n_windows + np.cumsum(gain)
    last_of_tie = np.flatnonzero(np.append(a[1:] != a[:-1], True)) if a.shape[0] else np.zeros(0, np.int64)
    thresholds = np.concatenate(([math.inf], a[last_of_tie]))
    raw = np.concatenate(([-profile.fn * s.n_windows], total[last_of_tie]))
    return thresholds, raw


def optimise_threshold(s: NabSeries, profile: CostProfile) -> tuple[float, float]:
    """NAB's optimiser (`optimizeThreshold` since NAB 1.0: an exhaustive sweep): the threshold with the
    highest raw score over the corpus `s`, and that score; among equal scores the highest threshold."""
    thresholds, raw = sweep(s, profile)
    best = int(np.argmax(raw))
    return float(thresholds[best]), float(raw[best])


@dataclass(frozen=True, slots=True)
class NabScore:
    """A detector's NAB result on some series at a threshold: the raw score, the null detector's and a perfect
    detector's raw scores on the same series, windows detected, and detections outside windows (rows)."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    windows: int
    detected: int
    false_positives: int

    @property
    def normalised(self) -> float:
        """`100 (raw - null) / (perfect - null)` (NAB's `Runner.normalize`): 0 is the null detector, 100 a
        detector that flags every window on its first row and nothing else. NaN for series without windows
        (perfect and null both 0 there; only the raw cost of false positives means something)."""
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span > 0 else math.nan


def raw_score(s: NabSeries, profile: CostProfile, threshold: float) -> tuple[float, int, int]:
    """The raw score of `s` at `threshold` (rows scoring at or above it are detections), with the windows
    detected and the false-positive rows: the value `sweep` gives at that threshold, computed directly."""
    hit = s.scores >= threshold
    fp = hit & (s.window < 0)
    best = np.full(s.n_windows, -np.inf)
    tp = hit & (s.window >= 0)
    np.maximum.at(best, s.window[tp], s.value[tp])
    windows = np.maximum(profile.tp * best, -profile.fn)
    raw = float(windows.sum() + profile.fp * s.value[fp].sum())
    return raw, int(np.count_nonzero(np.isfinite(best))), int(np.count_nonzero(fp))


def score_at(s: NabSeries, profile: CostProfile, threshold: float, null_threshold: float) -> NabScore:
    """`s` scored at a detector's threshold, against the null detector at its own (both chosen on the whole
    corpus by `optimise_threshold`, as NAB does) and a perfect detector (`tp` per window)."""
    raw, detected, fps = raw_score(s, profile, threshold)
    null, _, _ = raw_score(s.null(), profile, null_threshold)
    return NabScore(profile.name, threshold, raw, null, profile.tp * s.n_windows, s.n_windows, detected, fps)
