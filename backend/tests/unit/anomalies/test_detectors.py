"""Each streaming detector fires on its kind of fault within a bounded delay and stays quiet on clean noise."""

import numpy as np
import pytest

from dtwin.anomalies.detectors import DETECTORS, _common_mode, others_kth
from dtwin.anomalies.scan import Rounds, _blocks, ewma_scan, ewma_scan_cells

from .helpers import first_alarm, machine_rows, score_series, series_engine

ONSET = 3000  # every fault starts here, after all warm-ups


def clean(n: int = 10_000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(50.0, 1.0, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_noise_false_positive_rate_below_bound(seed: int) -> None:
    # bound: fewer than 1 alarm per 1,000 readings (the detectors aim at ~0 on Gaussian noise)
    scores = score_series(clean(10_000, seed)).score
    assert np.count_nonzero(scores >= 0.5) < 10


def test_smooth_oscillation_is_not_an_anomaly() -> None:
    t = np.arange(10_000)
    x = 50 + 10 * np.sin(2 * np.pi * t / 600) + np.random.default_rng(3).normal(0, 1, t.shape[0])
    assert np.count_nonzero(score_series(x).score >= 0.5) < 10


@pytest.mark.parametrize(("size", "kind"), [(10.0, "spike"), (-10.0, "dip")])
def test_spike_and_dip_fire_on_the_reading(size: float, kind: str) -> None:
    x = clean(5000)
    x[ONSET] += size
    r = score_series(x)
    assert first_alarm(r.score, ONSET) == 0
    assert DETECTORS[r.detector[ONSET]] == kind
    assert np.count_nonzero(r.score[:ONSET] >= 0.5) == 0


def test_rate_of_change_fires_on_a_jump_small_against_the_signal_swing() -> None:
    # a smooth wave with little noise: a 1.5 jump is small next to the wave's +-5, huge for its steps
    t = np.arange(5000)
    x = 5 * np.sin(2 * np.pi * t / 500) + np.random.default_rng(4).normal(0, 0.01, t.shape[0])
    x[ONSET:] += 1.5
    r = score_series(x)
    assert first_alarm(r.score, ONSET) == 0
    assert DETECTORS[r.detector[ONSET]] == "rate_of_change"  # the step, not the level, is the strongest
    assert np.count_nonzero(r.score[:ONSET] >= 0.5) == 0


def test_stuck_sensor_fires_after_the_configured_run() -> None:
    x = clean(5000)
    x[ONSET : ONSET + 100] = x[ONSET - 1]
    r = score_series(x)
    delay = first_alarm(r.score, ONSET)
    assert delay is not None and delay <= 20  # stuck_samples
    assert DETECTORS[r.detector[ONSET + delay]] == "stuck"
    assert np.all(r.score[ONSET + 20 : ONSET + 100] >= 0.5)


@pytest.mark.parametrize("factor", [0.2, 0.3])
def test_a_fall_in_noise_fires_the_variance_detector_then_becomes_the_new_normal(factor: float) -> None:
    """A quieter sensor is news too (a damped vibration, a sensor that lost its signal): every reading is
    near the level, so only a statistic of the spread sees it. Once the spread has stayed low for a few
    hundred readings it is the series' normal and the detector is quiet again."""
    x = clean(6000)
    x[ONSET:] = 50.0 + (x[ONSET:] - 50.0) * factor
    r = score_series(x)
    delay = first_alarm(r.score, ONSET)
    assert delay is not None and delay <= 60  # inside the corpus's NAB window (66 rows after the onset)
    assert DETECTORS[r.detector[ONSET + delay]] == "variance"
    assert np.count_nonzero(r.score[:ONSET] >= 0.5) == 0
    assert np.count_nonzero(r.score[ONSET + 1000 :] >= 0.5) == 0


def test_stuck_needs_a_normally_moving_sensor() -> None:
    x = np.round(clean(5000), 0)  # quantised: repeats are normal for this sensor
    x[ONSET : ONSET + 60] = x[ONSET - 1]
    r = score_series(x)
    assert not np.any(r.detector == DETECTORS.index("stuck"))


def test_stopped_machine_is_not_reported_as_stuck_sensors() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(50.0, 1.0, (600, 3))
    values[300:] = values[299]  # every sensor freezes: the machine stopped
    engine, _ = series_engine()
    out = machine_rows(engine, "m2", "t", ["a", "b", "c"], values)
    assert not np.any(out.readings.detector == DETECTORS.index("stuck"))


def test_one_frozen_sensor_among_moving_ones_is_stuck() -> None:
    rng = np.random.default_rng(6)
    values = rng.normal(50.0, 1.0, (600, 3))
    values[300:, 1] = values[299, 1]
    engine, _ = series_engine()
    out = machine_rows(engine, "m2", "t", ["a", "b", "c"], values)
    stuck = np.flatnonzero(out.readings.detector == DETECTORS.index("stuck"))
    assert stuck.shape[0] > 0
    assert set(out.readings.slot[stuck].tolist()) == {int(engine.register("m2", "t", ["b"])[0])}


@pytest.mark.parametrize(("slope", "max_delay"), [(0.005, 500), (0.02, 200)])
def test_slow_drift_fires_within_bound(slope: float, max_delay: int) -> None:
    x = clean(8000, 7)
    x[ONSET:] += slope * np.arange(8000 - ONSET)  # sigma/200 .. sigma/50 per sample
    r = score_series(x)
    delay = first_alarm(r.score, ONSET)
    assert delay is not None and delay <= max_delay
    assert DETECTORS[r.detector[ONSET + delay]] == "drift"
    assert np.count_nonzero(r.score[:ONSET] >= 0.5) == 0


def test_limit_violation_fires_even_without_history() -> None:
    r = score_series([120.0, 50.0], limits=(0.0, 100.0))
    assert r.score[0] > 0.5
    assert DETECTORS[r.detector[0]] == "limit"


def test_limit_fires_on_a_slow_climb_past_the_range() -> None:
    # a slow climb the adaptive level follows (modest z throughout), through the top of the range
    x = np.linspace(80.0, 110.0, 4000) + np.random.default_rng(8).normal(0.0, 0.5, 4000)
    r = score_series(x, limits=(0.0, 100.0))
    inside = x < 99.0
    assert np.count_nonzero(r.score[inside] >= 0.5) == 0
    clearly_beyond = x > 107.0  # 5% of the range (the margin) and more past the limit
    assert np.all(r.score[clearly_beyond] > 0.5)
    assert {DETECTORS[d] for d in r.detector[clearly_beyond]} == {"limit"}
    assert np.abs(r.z[clearly_beyond]).max() < 5  # the level detector alone would not have fired


def test_ewma_scan_blocked_equals_sequential() -> None:
    x = np.random.default_rng(9).normal(size=(5000, 3))
    prev = np.array([1.0, -2.0, 0.5])
    y = ewma_scan(x, prev, 0.05)
    seq = prev.copy()
    for r in range(x.shape[0]):
        seq = 0.05 * x[r] + 0.95 * seq
        np.testing.assert_allclose(y[r], seq, rtol=1e-11, atol=1e-12)


def test_ewma_scan_cells_reads_what_the_whole_scan_gives() -> None:
    """`ewma_scan_cells` (the ensemble's histograms: only the cells a row needs) equals `ewma_scan` of the
    survival grid `cells >= edge` read there: the value before each asked round (the carried state for round
    0, after the last round for round = rounds), over several blocks (alpha 0.05: blocks of ~3,900 rounds),
    with rounds where no column reaches the first edge and edges no round reaches."""
    rng = np.random.default_rng(10)
    n_rounds, m, n_edges = 9000, 3, 7
    cells = np.where(rng.random((n_rounds, m)) < 0.6, -1, rng.integers(0, 5, (n_rounds, m)))
    cells[1000:5000, 1] = -1  # a stretch longer than a block where column 1 reaches nothing
    cells[4000:4100] = -1  # ...and one where no column does
    prev = rng.random((m, n_edges))
    hit = cells[:, :, None] >= np.arange(n_edges)[None, None, :]
    whole = ewma_scan(hit.reshape(n_rounds, m * n_edges).astype(np.float64), prev.reshape(-1), 0.05)
    before = np.vstack([prev.reshape(1, -1), whole]).reshape(n_rounds + 1, m, n_edges)
    at = rng.integers(0, n_rounds + 1, 4000)
    at[:4] = [0, n_rounds, 3900, 4050]
    cols = rng.integers(0, m, 4000)
    edges = rng.integers(0, n_edges, 4000)
    got = ewma_scan_cells(cells, n_edges, prev, 0.05, at, cols, edges)
    np.testing.assert_allclose(got, before[at, cols, edges], rtol=1e-11, atol=1e-12)


def test_long_batch_equals_reading_by_reading() -> None:
    x = clean(1500, 10)
    x[1200] += 8
    whole = score_series(x)
    engine, slot = series_engine()
    one_by_one = np.array(
        [
            engine.score_arrays(
                slot, np.array([float(i)]), x[i : i + 1], np.zeros(1, dtype=np.int64)
            ).readings.score[0]
            for i in range(x.shape[0])
        ]
    )
    np.testing.assert_allclose(whole.score, one_by_one, rtol=1e-9, atol=1e-12)


def test_rounds_layout_groups_kth_occurrences() -> None:
    rounds, starts = Rounds.from_sorted_groups(np.array([3, 3, 3, 5, 9, 9]))
    assert rounds.col.tolist() == [0, 0, 0, 1, 2, 2]
    assert rounds.rank.tolist() == [0, 1, 2, 0, 0, 1]
    assert rounds.counts.tolist() == [3, 1, 2]
    grid = rounds.spread(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert grid.tolist() == [[1.0, 4.0, 5.0], [2.0, 4.0, 6.0], [3.0, 4.0, 6.0]]  # pads repeat the last
    assert rounds.gather(grid).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert starts.tolist() == [0, 3, 4]


def _machine(n: int, seed: int, sensors: int = 6) -> np.ndarray:
    """A machine whose sensors all follow one load signal (a slow random walk) plus their own noise."""
    rng = np.random.default_rng(seed)
    load = 50.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    gains = np.linspace(1.0, 3.0, sensors)
    return load[:, None] * gains[None, :] + rng.normal(0.0, 0.2, (n, sensors))


def test_a_load_step_moving_every_sensor_is_explained_not_an_anomaly() -> None:
    x = _machine(5000, 11)
    x[ONSET:] *= 1.2  # the operating point jumps: every sensor moves by ~40 of its noise sigmas at once
    engine, _ = series_engine()
    out = machine_rows(engine, "m2", "t", [f"s{i}" for i in range(6)], x)
    assert np.count_nonzero(out.rows.level >= 0.5) == 0


def test_the_same_step_on_one_sensor_alone_fires() -> None:
    x = _machine(5000, 11)
    x[ONSET:, 2] *= 1.2  # only one sensor moves: nothing else explains it
    engine, _ = series_engine()
    out = machine_rows(engine, "m2", "t", [f"s{i}" for i in range(6)], x)
    assert first_alarm(out.rows.level, ONSET) == 0
    assert np.count_nonzero(out.rows.level[:ONSET] >= 0.5) == 0


def test_a_reading_at_its_limit_is_not_an_alarm_but_beyond_it_is() -> None:
    # a sensor clipped at its physical floor, which is also the low end of its range: hovers on the limit
    x = np.random.default_rng(12).normal(0.3, 0.15, 4000).clip(0.0, None)
    assert np.count_nonzero(x == 0.0) > 40
    assert np.count_nonzero(score_series(x, limits=(0.0, 10.0)).score >= 0.5) == 0
    x[ONSET] = -0.6  # 6% of the range below it
    r = score_series(x, limits=(0.0, 10.0))
    assert r.score[ONSET] > 0.5 and DETECTORS[r.detector[ONSET]] == "limit"


def test_blocked_scan_factors_are_shared_prefixes_of_one_table() -> None:
    """`_blocks` keeps one read-only table per alpha: a short block's factors are the long block's first ones
    and equal to the ones computed afresh (the backtest's chunks and scans share them)."""
    alpha = 0.0123
    block, up, down = _blocks(alpha, 5000)
    short, up_s, down_s = _blocks(alpha, 40)
    k = np.arange(block, dtype=np.float64)
    np.testing.assert_array_equal(up, alpha * np.power(1.0 - alpha, -k))
    np.testing.assert_array_equal(down, np.power(1.0 - alpha, k))
    assert (block, short) == (5000, 40)
    np.testing.assert_array_equal(up_s, up[:40])
    np.testing.assert_array_equal(down_s, down[:40])
    assert not up.flags.writeable and not down_s.flags.writeable


@pytest.mark.parametrize("k", [1, 2])
def test_others_kth_is_the_kth_largest_of_the_other_readings_of_the_group(k: int) -> None:
    """Brute force for every reading of a group with a flagged reading (0 for the other groups' readings),
    with ties, groups of one to ten, keys out of order and in order."""
    rng = np.random.default_rng(11)
    for shuffled in (False, True):
        key = np.sort(rng.integers(0, 60, 300))
        if shuffled:
            key = rng.permutation(key)
        e = np.round(rng.exponential(1.0, 300), 1)  # rounded: many ties
        need = rng.random(300) < 0.2
        want = np.zeros(300)
        for i in np.flatnonzero(np.isin(key, key[need])):
            others = np.sort(e[(key == key[i]) & (np.arange(300) != i)])[::-1]
            want[i] = others[k - 1] if others.shape[0] >= k else 0.0
        np.testing.assert_array_equal(others_kth(e, key, need, k), want)


@pytest.mark.parametrize("weight", [2.0, 0.0, -1.0])
def test_common_mode_is_the_formula_bit_for_bit(weight: float) -> None:
    """`_common_mode` subtracts only in the flagged groups; the result is `max(e - w others_kth, 0)` to the
    bit everywhere (signed zeros and a flag-free batch included)."""
    rng = np.random.default_rng(12)
    key = rng.permutation(np.sort(rng.integers(0, 80, 400)))
    e = np.round(rng.exponential(0.3, 400), 2)
    e[:5] = -0.0
    for floor in (0.5, 100.0):
        got = _common_mode(e, key, int(key.max()) + 1, floor, weight, 1)
        want = np.maximum(e - weight * others_kth(e, key, e > floor, 1), 0.0)
        assert got.tobytes() == want.tobytes()
