"""Baseline anomaly scorers the platform's detector is measured against (docs/anomalies.md, "How detection
quality is measured"): a rolling-MAD z-score, NAB's windowed Gaussian and a seasonal-naive residual. Each
scores one series (epoch-second timestamps, values with NaN = missing) with a score in [0, 1] per row, is
causal (row i's score depends on rows <= i only) and deterministic. Pure numpy; no I/O."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dtwin.anomalies.scan import F64, Bool

Scorer = Callable[[F64, F64], F64]  # (timestamps, values) -> score per row

MAD_WINDOW = 100  # trailing observed values the rolling median / MAD are taken over
MAD_MIN_SAMPLES = 20  # fewer observed values before a row: no score yet
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution x this = its standard deviation
MEAN_AD_TO_SIGMA = 1.2533  # mean absolute deviation x this = sigma (used when the MAD is 0)
Z_HALF = 3.5  # |z| scoring 0.5 (Iglewicz & Hoaglin's cut-off for the modified z-score)
GAUSSIAN_WINDOW = 1000  # NAB's windowedGaussian: the previous 1,000 values
GAUSSIAN_MIN_STD = 1e-6  # NAB's stand-in for a window with no spread
DAY_S = 86400.0
WEEK_S = 7 * DAY_S
SPACING_ROWS = 32  # the seasonal-naive scorer reads the sampling interval off the first 33 timestamps
WEEKLY_FROM_S = 1800.0  # sampled every 30 min or slower: a weekly season (a week <= 336 samples), else daily
_CHUNK = 4096  # rows of sliding windows materialised at once (bounded memory on long series)


def _trailing_stats(x: F64, window: int, min_samples: int) -> tuple[F64, F64, F64]:
    """Per element of `x`: median, MAD and mean absolute deviation from that median of the up to `window`
    elements before it (NaN while there are fewer than `min_samples`)."""
    n = x.shape[0]
    med, mad, mean_ad = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(min_samples, min(window, n)):  # the window is still growing
        centre = float(np.median(x[:i]))
        dev = np.abs(x[:i] - centre)
        med[i], mad[i], mean_ad[i] = centre, float(np.median(dev)), float(dev.mean())
    if n > window:
        view = sliding_window_view(x, window)[: n - window]  # view[j] holds the window of element j + window
        for c0 in range(0, view.shape[0], _CHUNK):
            v = view[c0 : c0 + _CHUNK]
            m = np.median(v, axis=1)
            d = np.abs(v - m[:, None])
            at = slice(window + c0, window + c0 + v.shape[0])
            med[at], mad[at], mean_ad[at] = m, np.median(d, axis=1), d.mean(axis=1)
    return med, mad, mean_ad


def _on_observed(values: F64, score: Callable[[F64], F64]) -> F64:
    """`score` applied to the finite values only (in order), scattered back; missing rows score 0."""
    out = np.zeros(values.shape[0])
    seen = np.flatnonzero(np.isfinite(values))
    if seen.shape[0]:
        out[seen] = score(values[seen])
    return out


def _mad_scores(x: F64, window: int, min_samples: int) -> F64:
    med, mad, mean_ad = _trailing_stats(x, window, min_samples)
    scale = np.where(mad > 0, MAD_TO_SIGMA * mad, MEAN_AD_TO_SIGMA * mean_ad)
    scale = np.maximum(scale, 1e-9 * (1.0 + np.abs(med)))  # a window of one repeated value
    with np.errstate(invalid="ignore"):
        z = np.abs(x - med) / scale
    out: F64 = np.where(np.isfinite(z), z / (z + Z_HALF), 0.0)
    return out


def rolling_mad_scores(
    ts: F64, values: F64, *, window: int = MAD_WINDOW, min_samples: int = MAD_MIN_SAMPLES
) -> F64:
    """Robust z-score of each value against the median and MAD of the previous `window` observed values
    (MAD 0, as on integer or flat series: the mean absolute deviation instead), mapped into [0, 1) by
    `|z| / (|z| + Z_HALF)`. Timestamps are not used."""
    del ts
    return _on_observed(values, lambda x: _mad_scores(x, window, min_samples))


_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


def _erfc(x: F64) -> F64:
    out: F64 = _ERFC(x)
    return out


def _gaussian_scores(x: F64, window: int) -> F64:
    n = x.shape[0]
    d = x - x[0]  # centred on the first value: cumulative sums keep their precision on a steady level
    c1 = np.concatenate(([0.0], np.cumsum(d)))
    c2 = np.concatenate(([0.0], np.cumsum(d * d)))
    changes = np.concatenate(([0], np.cumsum(x[1:] != x[:-1])))  # changes[i]: value changes up to element i
    i = np.arange(1, n)
    lo = np.maximum(i - window, 0)
    cnt = (i - lo).astype(np.float64)
    mean = (c1[i] - c1[lo]) / cnt
    std = np.sqrt(np.maximum((c2[i] - c2[lo]) / cnt - mean * mean, 0.0))
    constant: Bool = changes[i - 1] == changes[lo]  # the window holds one value: NAB's std 0
    std = np.where(constant | (std == 0.0), GAUSSIAN_MIN_STD, std)
    z = np.abs(d[1:] - mean) / std
    return np.concatenate(([0.0], 1.0 - 0.5 * _erfc(z / math.sqrt(2.0))))


def windowed_gaussian_scores(ts: F64, values: F64, *, window: int = GAUSSIAN_WINDOW) -> F64:
    """NAB's windowedGaussian detector: one minus the two-sided tail probability (Q-function) of each value
    under a normal distribution with the mean and (population) standard deviation of the previous `window`
    observed values; 0 for the first. Timestamps are not used."""
    del ts
    return _on_observed(values, lambda x: _gaussian_scores(x, window))


def season_s(ts: F64) -> float:
    """The season the seasonal-naive scorer assumes, from the median spacing of the first `SPACING_ROWS + 1`
    timestamps: a week for series sampled every `WEEKLY_FROM_S` or slower, else a day."""
    spacing = float(np.median(np.diff(ts[: SPACING_ROWS + 1])))
    return WEEK_S if spacing >= WEEKLY_FROM_S else DAY_S


def seasonal_residuals(ts: F64, values: F64) -> F64:
    """Each value minus the observed value nearest to one season earlier (within one sampling interval and
    strictly before the row); NaN where there is none, the value is missing, or the row is among the first
    `SPACING_ROWS` (the season is not known yet)."""
    n = ts.shape[0]
    out = np.full(n, np.nan)
    if n <= SPACING_ROWS:
        return out
    spacing = float(np.median(np.diff(ts[: SPACING_ROWS + 1])))
    season = season_s(ts)
    seen = np.flatnonzero(np.isfinite(values))
    if seen.shape[0] == 0:
        return out
    st = ts[seen]
    target = ts - season
    right = np.searchsorted(st, target)
    best = np.full(n, -1, dtype=np.int64)
    best_gap = np.full(n, np.inf)
    for cand in (right - 1, right):  # the observed neighbours of the target time, nearest wins
        ok = (cand >= 0) & (cand < st.shape[0])
        c = np.clip(cand, 0, st.shape[0] - 1)
        gap = np.where(ok, np.abs(st[c] - target), np.inf)
        valid = ok & (gap <= spacing) & (st[c] < ts) & (gap < best_gap)
        best = np.where(valid, c, best)
        best_gap = np.where(valid, gap, best_gap)
    has = best >= 0
    out[has] = values[has] - values[seen[best[has]]]
    out[:SPACING_ROWS] = np.nan
    return out


def seasonal_naive_scores(
    ts: F64, values: F64, *, window: int = MAD_WINDOW, min_samples: int = MAD_MIN_SAMPLES
) -> F64:
    """The residual against the value one season earlier (`seasonal_residuals`), scored like
    `rolling_mad_scores` against the previous `window` residuals; 0 where there is no residual."""
    return rolling_mad_scores(ts, seasonal_residuals(ts, values), window=window, min_samples=min_samples)


BASELINES: dict[str, Scorer] = {
    "rolling_mad": rolling_mad_scores,
    "windowed_gaussian": windowed_gaussian_scores,
    "seasonal_naive": seasonal_naive_scores,
}
