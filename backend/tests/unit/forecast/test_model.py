"""The forecast core on synthetic series: it beats seasonal-naive where there is a season and noise, its
90% interval covers about 90% of what happens, and short or odd histories give a fallback or a note."""

from __future__ import annotations

import numpy as np

from dtwin.forecast.model import MIN_POINTS, coverage, forecast, has_season, mase, seasonal_naive


def seasonal_series(n: int, season: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y: np.ndarray = 50 + 0.01 * t + 10 * np.sin(2 * np.pi * t / season) + rng.normal(0, 2, n)
    return y


def test_holt_winters_beats_seasonal_naive_and_covers_near_nominal() -> None:
    season, horizon, train = 24, 24, 24 * 14
    model, naive, covered = [], [], []
    for seed in range(12):
        y = seasonal_series(train + horizon, season, seed)
        past, future = y[:train], y[train:]
        f = forecast(past, horizon, (season,))
        assert f.method.startswith("holt_winters") and f.season == season
        model.append(mase(future, f.mean, past, season))
        naive.append(mase(future, seasonal_naive(past, horizon, season), past, season))
        covered.append(coverage(future, f.lo, f.hi))
    # seasonal-naive carries one cycle's noise forward; smoothing averages it out (expected ratio ~0.7)
    assert np.mean(model) < 0.9 * np.mean(naive)
    assert 0.8 <= np.mean(covered) <= 1.0


def test_short_history_without_two_seasons_uses_no_season_and_says_so() -> None:
    y = seasonal_series(30, 24, 1)
    f = forecast(y, 6, (24,))
    assert f.season is None and f.method == "ets(damped trend)" and len(f.mean) == 6
    assert f.note is not None and "two cycles" in f.note


def test_too_short_history_is_empty_with_a_note() -> None:
    f = forecast(np.arange(MIN_POINTS - 1, dtype=float), 5, (24,))
    assert f.empty and f.method == "none" and f.note is not None and "not enough history" in f.note


def test_constant_series_falls_back_to_naive_exactly() -> None:
    f = forecast(np.full(40, 3.5), 4)
    assert (
        f.method == "naive" and f.mean.tolist() == [3.5] * 4 and f.note is not None and "fallback" in f.note
    )
    assert (f.lo <= f.mean).all() and (f.hi >= f.mean).all()


def test_floor_bounds_mean_and_interval() -> None:
    y = np.concatenate([np.linspace(10, 0.1, 40)])
    f = forecast(y, 48, floor=0.0)
    assert (f.mean >= 0).all() and (f.lo >= 0).all()


def test_seasonal_naive_repeats_the_last_cycle() -> None:
    y = np.arange(10, dtype=float)
    assert seasonal_naive(y, 5, 3).tolist() == [7.0, 8.0, 9.0, 7.0, 8.0]
    assert seasonal_naive(y, 2, None).tolist() == [9.0, 9.0]


def test_has_season_finds_a_cycle_and_not_noise() -> None:
    assert has_season(seasonal_series(300, 60, 0) * 0 + 10 * np.sin(2 * np.pi * np.arange(300) / 60), 60)
    assert not has_season(np.random.default_rng(0).normal(size=300), 60)
