"""Daily and weekly profiles learned online (anomalies/seasonal.py): a series sampled every 5 minutes with a
steep daily pattern is judged against its profile, so a move small next to the daily swing stands out; series without seasonality or sampled fast get no profile and score as before;
the profiles keep scores causal and batch-invariant."""

from __future__ import annotations

import math

import numpy as np

from dtwin.anomalies.config import EngineConfig
from dtwin.anomalies.detectors import DETECTORS, DetectorConfig
from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.scan import F64
from dtwin.anomalies.seasonal import GATE_FIELDS, SeasonalConfig, SeasonalProfiles

from .helpers import T0, series_engine

STEP = 300.0  # 5 minutes: 288 samples a day
DAY = 288


def daily(days: int, seed: int) -> F64:
    """A working-hours bump (30 noise sigmas from 06:00 to 18:00, steep edges) on white noise."""
    n = days * DAY
    hour = (np.arange(n) % DAY) / 12.0
    bump = 30.0 * np.clip(np.sin(math.pi * (hour - 6.0) / 12.0), 0.0, None) ** 0.5
    return 50.0 + bump + np.random.default_rng(seed).normal(0.0, 1.0, n)


def start() -> float:
    """Midnight UTC on or before T0, so the helper's day starts at 00:00."""
    t0 = T0.timestamp()
    return t0 - (t0 % 86_400.0)


def run(
    x: F64, batch: int | None = None, step: float = STEP, config: EngineConfig | None = None
) -> tuple[F64, F64, ScoringEngine]:
    """One series through a fresh engine in batches of `batch` rows: row scores and reading detectors."""
    engine, slot = series_engine(config=config)
    n = x.shape[0]
    ts = start() + step * np.arange(n, dtype=np.float64)
    size = batch or n
    scores, dets = [], []
    for s in range(0, n, size):
        m = min(size, n - s)
        out = engine.score_arrays(np.repeat(slot, m), ts[s : s + size], x[s : s + size], np.arange(m))
        scores.append(out.rows.score)
        dets.append(out.readings.detector.astype(np.float64))
    return np.concatenate(scores), np.concatenate(dets), engine


NO_PROFILES = EngineConfig(detectors=DetectorConfig(seasonal=SeasonalConfig(min_interval_s=math.inf)))


def test_a_dip_on_the_morning_ramp_is_seen_against_the_profile() -> None:
    x = daily(20, 1)
    onset = 17 * DAY + 6 * 12 + 6  # day 17, 06:30: on the steep morning ramp
    x[onset] -= 7.0
    ramps = np.concatenate([np.arange(d * DAY + 5 * 12, d * DAY + 8 * 12) for d in range(10, 17)])
    scores, _, engine = run(x)
    assert engine.fleet.seasonal.in_use == 1
    assert scores[onset] > scores[ramps].max()  # rarer than anything the earlier mornings produced
    without, _, engine = run(x, config=NO_PROFILES)
    assert engine.fleet.seasonal.in_use == 0
    assert without[onset] < without[ramps].max()  # without the profile the ramps hide it


def test_white_noise_at_5_minutes_keeps_its_gate_closed() -> None:
    x = np.random.default_rng(3).normal(50.0, 1.0, 20 * DAY)
    scores, _, engine = run(x)
    pool = engine.fleet.seasonal
    assert pool.in_use == 1  # it has a profile...
    assert pool.gates[0, GATE_FIELDS.index("last")] == 0.0  # ...that it does not use
    np.testing.assert_array_equal(scores, run(x, config=NO_PROFILES)[0])


def test_a_series_sampled_every_second_gets_no_profile() -> None:
    x = np.random.default_rng(4).normal(50.0, 1.0, 5_000)
    _, _, engine = run(x, step=1.0)
    assert engine.fleet.seasonal.in_use == 0


def test_seasonal_scores_are_causal_and_batch_invariant() -> None:
    x = daily(12, 5)
    x[10 * DAY + 100] += 12.0
    whole, dets, _ = run(x)
    for cut in (1, 9, 10, 3 * DAY + 7, 10 * DAY + 101):
        np.testing.assert_array_equal(run(x[:cut])[0], whole[:cut])
    for batch in (1, 7, 500):
        np.testing.assert_allclose(run(x, batch)[0], whole, rtol=1e-9, atol=1e-12)
    assert DETECTORS[int(dets[10 * DAY + 100])] in ("spike", "rate_of_change")


def test_the_profile_pool_is_bounded_and_reuses_released_rows() -> None:
    pool = SeasonalProfiles(max_series=3)
    rows = pool.alloc(5)
    assert rows.tolist() == [0, 1, 2] and pool.in_use == 3
    pool.raw[1] = 7.0
    pool.release(np.array([1]))
    again = pool.alloc(2)
    assert again.tolist() == [1] and pool.in_use == 3
    assert np.all(pool.raw[1] == 0.0) and np.all(pool.q[1] == 1.0)  # a reused row starts empty


def test_a_forgotten_series_gives_its_profile_row_back() -> None:
    x = daily(2, 6)
    _, _, engine = run(x)
    assert engine.fleet.seasonal.in_use == 1
    engine.forget(["m1"])  # the only machine: compaction follows at once
    assert engine.fleet.seasonal.in_use == 0
