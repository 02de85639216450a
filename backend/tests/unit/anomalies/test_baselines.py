"""The baseline scorers: causal, deterministic, in [0, 1], and each doing what its name says on small cases
(NAB's windowed Gaussian checked against a plain loop written from its definition)."""

import math

import numpy as np
import pytest

from dtwin.anomalies.baselines import (
    BASELINES,
    DAY_S,
    SPACING_ROWS,
    WEEK_S,
    rolling_mad_scores,
    season_s,
    seasonal_naive_scores,
    seasonal_residuals,
    windowed_gaussian_scores,
)
from dtwin.anomalies.scan import F64


def irregular_series(n: int = 3000, seed: int = 1) -> tuple[F64, F64]:
    """5-min sampling with jitter and a gap, a daily cycle, noise, missing values and a spike."""
    rng = np.random.default_rng(seed)
    steps = 300.0 + rng.integers(-20, 21, n - 1)
    steps[1500] += 6 * 3600.0
    ts = 1_767_571_200.0 + np.concatenate(([0.0], np.cumsum(steps)))
    x = 10.0 * np.sin(2 * math.pi * ts / DAY_S) + rng.normal(0.0, 0.5, n)
    x[rng.random(n) < 0.02] = np.nan
    x[2500] = 40.0
    return ts, x


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_is_causal(name: str) -> None:
    ts, x = irregular_series()
    full = BASELINES[name](ts, x)
    for cut in (1, 10, SPACING_ROWS, 150, 999, 1501, 2501):
        assert np.array_equal(BASELINES[name](ts[:cut], x[:cut]), full[:cut]), cut


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_is_deterministic_and_in_the_unit_interval(name: str) -> None:
    ts, x = irregular_series()
    a, b = BASELINES[name](ts, x.copy()), BASELINES[name](ts, x.copy())
    assert np.array_equal(a, b)
    assert a.shape == x.shape and np.all((a >= 0.0) & (a <= 1.0))
    assert np.all(a[np.isnan(x)] == 0.0)  # a missing value is no detection


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_ranks_the_spike_among_its_top_rows(name: str) -> None:
    ts, x = irregular_series()
    s = BASELINES[name](ts, x)
    assert s[2500] > 0.8
    assert s[2500] >= np.quantile(s[1200:], 0.999)


def test_rolling_mad_scores_the_robust_z_against_the_previous_window() -> None:
    x = np.tile([1.0, 2.0, 3.0, 4.0, 5.0], 30)  # median 3, MAD 1 over any 100 consecutive values
    x = np.append(x, 3.0 + 7.0 * 1.4826)  # z = 7
    s = rolling_mad_scores(np.arange(x.shape[0], dtype=np.float64), x, window=100, min_samples=20)
    assert s[-1] == pytest.approx(7.0 / (7.0 + 3.5))
    assert np.all(s[:20] == 0.0)


def test_rolling_mad_uses_the_mean_deviation_when_the_mad_is_zero() -> None:
    x = np.zeros(120)
    x[::10] = 1.0  # MAD 0 (most values 0), mean absolute deviation 0.1
    x = np.append(x, 1.0)
    s = rolling_mad_scores(np.arange(x.shape[0], dtype=np.float64), x, window=100, min_samples=20)
    z = 1.0 / (1.2533 * 0.1)
    assert s[-1] == pytest.approx(z / (z + 3.5))


def nab_windowed_gaussian(x: list[float], window: int) -> list[float]:
    """NAB's WindowedGaussianDetector.handleRecord, written from its definition (one value at a time)."""
    data: list[float] = []
    out: list[float] = []
    mean, std = 0.0, 1.0
    for v in x:
        score = 0.0
        if data:
            z = abs(v - mean) / std
            score = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        data = [*data, v][-window:]
        mean, std = float(np.mean(data)), float(np.std(data))
        if std == 0.0:
            std = 0.000001
        out.append(score)
    return out


def test_windowed_gaussian_matches_nabs_detector() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate((np.full(5, 2.0), rng.normal(100.0, 3.0, 400)))
    x[300] = 125.0
    got = windowed_gaussian_scores(np.arange(x.shape[0], dtype=np.float64), x, window=50)
    want = nab_windowed_gaussian(x.tolist(), 50)
    assert got == pytest.approx(want, abs=1e-9)


def test_the_season_is_weekly_for_hourly_data_and_daily_for_5_minute_data() -> None:
    assert season_s(np.arange(100, dtype=np.float64) * 3600.0) == WEEK_S
    assert season_s(np.arange(100, dtype=np.float64) * 300.0) == DAY_S


def test_a_repeating_daily_pattern_leaves_no_residual_but_its_break() -> None:
    ts = np.arange(288 * 4, dtype=np.float64) * 300.0
    x = np.sin(2 * math.pi * ts / DAY_S) * 10.0
    x[700] += 3.0
    r = seasonal_residuals(ts, x)
    assert np.all(np.isnan(r[:287]))  # no value a day (within one interval) earlier
    assert r[700] == pytest.approx(3.0) and r[700 + 288] == pytest.approx(-3.0)  # and its echo a day later
    others = np.delete(r[288:], [700 - 288, 700])
    assert np.nanmax(np.abs(others)) < 1e-9
    s = seasonal_naive_scores(ts, x)
    assert s[700] > 0.99 and np.argmax(s) in (700, 988)


def test_the_seasonal_reference_must_be_within_one_sampling_interval() -> None:
    ts = np.arange(600, dtype=np.float64) * 300.0
    ts[300:] += 2 * 3600.0  # a 2-hour gap: the rows whose day-earlier time falls into it have no reference
    x = np.ones(600)
    r = seasonal_residuals(ts, x)
    lag = ts[:, None] - DAY_S - ts[None, :]
    has_ref = np.any(np.abs(lag) <= 300.0, axis=1)
    assert np.array_equal(~np.isnan(r[SPACING_ROWS:]), has_ref[SPACING_ROWS:])


def test_windowed_gaussian_treats_a_window_of_one_value_as_nab_does() -> None:
    # a long stretch at one level (not the first value's): NAB's std is exactly 0 there, hence 1e-6, so a
    # change of 1e-7 is a z of 0.1, not a near-certain anomaly on rounding noise
    rng = np.random.default_rng(2)
    x = np.concatenate((rng.normal(5.0, 1.0, 80), np.full(100, 7.3), [7.3000001]))
    got = windowed_gaussian_scores(np.arange(x.shape[0], dtype=np.float64), x, window=50)
    want = nab_windowed_gaussian(x.tolist(), 50)
    assert got[-1] == pytest.approx(want[-1], abs=1e-6)
    assert got[-1] < 0.6


def test_the_seasonal_reference_is_never_the_row_itself() -> None:
    # sampled every 8 days (a weekly season, one interval of tolerance), then a 20-day gap: a week before the
    # row after the gap has no sample within 8 days but the row itself, which must not serve as its own past
    ts = np.arange(40, dtype=np.float64) * (8 * DAY_S)
    ts[36:] += 12 * DAY_S
    r = seasonal_residuals(ts, np.arange(40, dtype=np.float64))
    assert np.isnan(r[36]) and r[35] == 1.0
