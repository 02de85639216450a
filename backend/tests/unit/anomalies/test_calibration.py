"""Calibrated row scores (issue #22): a tail probability per machine, on any kind of noise; a level that shifts
and stays fires and then becomes the new normal; causal, independent of batching and of other machines."""

import numpy as np
import numpy.typing as npt
import pytest

from dtwin.anomalies.calibration import (
    EDGES,
    CalibrationConfig,
    CalibrationState,
    calibrate,
    tail_probability,
)
from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.results import RowScores

from .helpers import T0, machine_rows, series_engine

F64 = npt.NDArray[np.float64]
N = 20_000
WARM = 2_000  # two memories of the calibration (1 / alpha rows each)
ONSET = 5_000


def rows(x: F64, batch: int | None = None) -> RowScores:
    """One series through a fresh engine (one batch, or batches of `batch` rows); its row scores."""
    engine, slot = series_engine()
    n = x.shape[0]
    ts = T0.timestamp() + np.arange(n, dtype=np.float64)
    step = batch or n
    parts = [
        engine.score_arrays(
            np.repeat(slot, min(step, n - s)),
            ts[s : s + step],
            x[s : s + step],
            np.arange(min(step, n - s), dtype=np.int64),
        ).rows
        for s in range(0, n, step)
    ]
    return RowScores(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in RowScores.__dataclass_fields__)
    )


def noise(kind: str, n: int, seed: int) -> F64:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(0.0, 1.0, n)
    if kind == "heavy_tailed":  # Student t, 3 degrees of freedom: rare large values are normal here
        return 1e4 + 50.0 * rng.standard_t(3, n)
    if kind == "uniform":
        return rng.uniform(-1.0, 1.0, n)
    # "ar1": autocorrelated (phi 0.8), the noise of most physical sensors
    e = rng.normal(0.0, 1.0, n)
    out = np.empty(n)
    out[0] = e[0]
    for i in range(1, n):
        out[i] = 0.8 * out[i - 1] + e[i]
    return out


@pytest.mark.parametrize("kind", ["normal", "heavy_tailed", "uniform", "ar1"])
def test_stationary_noise_reaches_each_score_about_as_often_as_it_says(kind: str) -> None:
    s = rows(noise(kind, N, 1)).score[WARM:]
    # 18,000 rows: the binomial standard deviation of a 1% share is 0.07%; autocorrelated noise is not
    # exchangeable, so its bound is wider
    lo, hi = (0.0075, 0.0125) if kind != "ar1" else (0.0075, 0.018)
    assert lo <= np.mean(s >= 0.99) <= hi
    assert 0.085 <= np.mean(s >= 0.9) <= 0.115
    assert 0.45 <= np.mean(s >= 0.5) <= 0.55


def test_a_level_shift_that_stays_fires_then_becomes_the_new_normal() -> None:
    x = noise("normal", 10_000, 2)
    x[ONSET:] += 8.0
    r = rows(x)
    assert r.score[ONSET : ONSET + 5].max() > 0.999  # rarer than anything in the 5,000 rows before
    assert np.mean(r.score[WARM:ONSET] >= 0.999) < 0.001
    # once the level has held for a few hundred rows, its rows score like any normal row
    later = r.score[ONSET + 400 :]
    assert np.mean(later >= 0.99) <= 0.0125
    assert np.median(r.score[ONSET + 400 : ONSET + 800]) < 0.7
    # the alarm level (the detectors' evidence, what events and health use) still reports the shift there
    assert r.level[ONSET + 400 : ONSET + 800].max() >= 0.5


def test_a_drift_that_stops_and_holds_fires_then_decays() -> None:
    x = noise("normal", 10_000, 3)
    ramp = np.clip((np.arange(10_000) - ONSET) / 100.0, 0.0, 1.0) * 10.0  # 10 sigmas over 100 rows, held
    r = rows(x + ramp)
    assert r.score[ONSET : ONSET + 150].max() > 0.999
    assert np.mean(r.score[ONSET + 600 :] >= 0.99) <= 0.0125


def test_scores_are_causal_a_cut_stream_keeps_its_earlier_scores() -> None:
    x = noise("normal", 6_000, 4)
    x[3_000:] += 6.0
    x[4_500] += 20.0
    full = rows(x).score
    for cut in (1, 2_999, 3_001, 4_500):
        np.testing.assert_array_equal(rows(x[:cut]).score, full[:cut])


def test_batching_does_not_change_scores() -> None:
    x = noise("ar1", 2_500, 5)
    x[2_000] += 15.0
    whole = rows(x).score
    for batch in (1, 7, 1_000):
        np.testing.assert_allclose(rows(x, batch).score, whole, rtol=1e-9, atol=1e-12)


def test_scores_are_deterministic() -> None:
    x = noise("heavy_tailed", 5_000, 6)
    a, b = rows(x), rows(x.copy())
    np.testing.assert_array_equal(a.score, b.score)
    np.testing.assert_array_equal(a.level, b.level)


def test_each_machine_is_calibrated_against_its_own_rows_only() -> None:
    cfg = CalibrationConfig()
    rng = np.random.default_rng(7)
    ev = {m: np.abs(rng.normal(0.0, s, 300)) for m, s in ((0, 0.1), (1, 1.0))}  # a quiet and a loud machine
    alone = {}
    for m, e in ev.items():
        state = CalibrationState()
        state.grow(2)
        alone[m] = calibrate(cfg, state, np.full(300, m, dtype=np.int64), e)
    state = CalibrationState()
    state.grow(2)
    together = calibrate(
        cfg, state, np.repeat(np.arange(2, dtype=np.int64), 300), np.concatenate(list(ev.values()))
    )
    np.testing.assert_allclose(together, np.concatenate(list(alone.values())), rtol=1e-12)


def test_tail_probability_falls_with_evidence_and_stays_in_range() -> None:
    e = np.geomspace(1e-3, 1e3, 400)
    hist = np.tile(np.linspace(0.9, 0.0, EDGES.shape[0]) ** 2, (400, 1))
    p = tail_probability(e, hist, np.full(400, 0.95), 0.001)
    assert np.all((p > 0.0) & (p <= 1.0))
    assert np.all(np.diff(p) <= 0.0)
    assert p[-1] < p[np.searchsorted(e, 64.0)]  # beyond every edge, larger evidence is still rarer


def test_a_machine_keeps_its_calibration_when_others_are_forgotten_and_slots_compacted() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(0.0, 1.0, (3_000, 2))
    x[2_500, 0] += 12.0
    other = rng.normal(5.0, 2.0, (1_500, 2))
    sensors = ["a", "b"]
    with_other, alone = ScoringEngine(), ScoringEngine()
    machine_rows(with_other, "gone", "t", sensors, other)  # registered first: compaction renumbers "kept"
    first = machine_rows(with_other, "kept", "t", sensors, x[:1_500]).rows.score
    assert with_other.forget(["gone"]) == ["gone"] and with_other.compactions == 1
    second = machine_rows(with_other, "kept", "t", sensors, x[1_500:], start_s=1_500.0).rows.score
    ref = machine_rows(alone, "kept", "t", sensors, x).rows.score
    np.testing.assert_allclose(np.concatenate([first, second]), ref, rtol=1e-9, atol=1e-12)
    assert ref[2_500] == ref[1_500:].max()


def test_one_chatty_machine_among_many_quiet_ones_is_calibrated_as_if_alone() -> None:
    cfg = CalibrationConfig()
    rng = np.random.default_rng(9)
    counts = [2_000, *([1] * 300), *([5] * 40)]  # one machine with 2,000 rows in the batch, 340 with few
    machines = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    ev = np.abs(rng.normal(0.0, 0.3, machines.shape[0]))
    state = CalibrationState()
    state.grow(len(counts))
    together = calibrate(cfg, state, machines, ev)
    one = CalibrationState()
    one.grow(1)
    alone = calibrate(cfg, one, np.zeros(2_000, dtype=np.int64), ev[:2_000])
    np.testing.assert_allclose(together[:2_000], alone, rtol=1e-12)
    np.testing.assert_allclose(state.hist[0], one.hist[0], rtol=1e-12)
