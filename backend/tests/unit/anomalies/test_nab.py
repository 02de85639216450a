"""The NAB score on small hand-computed cases: window construction, the scaled-sigmoid reward and cost, the
threshold sweep and optimiser, normalisation against the null and a perfect detector."""

import math

import numpy as np
import pytest

from dtwin.anomalies.nab import (
    PROFILES,
    REWARD_LOW_FN,
    REWARD_LOW_FP,
    STANDARD,
    CostProfile,
    NabSeries,
    anomaly_windows,
    optimise_threshold,
    probation_rows,
    raw_score,
    scaled_sigmoid,
    score_at,
    sweep,
)


def sigma(y: float) -> float:
    """The paper's scaled sigmoid, written out: 2 / (1 + e^(5y)) - 1."""
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def series(n: int, detections: dict[int, float], windows: list[list[int]]) -> NabSeries:
    scores = np.zeros(n)
    for row, s in detections.items():
        scores[row] = s
    return NabSeries.of(scores, np.asarray(windows, dtype=np.int64).reshape(-1, 2))


def nab(s: NabSeries, profile: CostProfile = STANDARD) -> float:
    """Normalised score at the detector's own optimal threshold (one series = the corpus)."""
    threshold, _ = optimise_threshold(s, profile)
    null_threshold, _ = optimise_threshold(s.null(), profile)
    return score_at(s, profile, threshold, null_threshold).normalised


class TestWindows:
    def test_one_anomaly_gets_a_tenth_of_the_series_centred_on_it(self) -> None:
        assert anomaly_windows(1000, [500]).tolist() == [[450, 550]]

    def test_the_tenth_is_shared_between_anomalies(self) -> None:
        # int(0.1 * 1000 / 2) = 50 rows each, 25 on either side
        assert anomaly_windows(1000, [800, 300]).tolist() == [[275, 325], [775, 825]]

    def test_windows_are_clipped_to_the_series(self) -> None:
        assert anomaly_windows(1000, [995]).tolist() == [[945, 999]]

    def test_the_first_window_is_dropped_when_it_starts_in_the_probationary_period(self) -> None:
        assert probation_rows(1000) == 150
        assert anomaly_windows(1000, [160, 700]).tolist() == [[700 - 25, 700 + 25]]
        assert anomaly_windows(1000, [176, 700]).tolist() == [[151, 201], [675, 725]]

    def test_only_the_first_window_is_checked_against_the_probationary_period(self) -> None:
        # NAB's checkWindows deletes windows[0] only: [124, 156] starts in the period and stays
        assert anomaly_windows(1000, [100, 140, 600]).tolist() == [[124, 156], [584, 616]]

    def test_overlapping_windows_merge(self) -> None:
        assert anomaly_windows(1000, [500, 520]).tolist() == [[475, 545]]
        assert anomaly_windows(1000, [500, 550]).tolist() == [[475, 575]]  # touching: merged too

    def test_the_probationary_period_is_15_percent_up_to_750_rows(self) -> None:
        assert [probation_rows(n) for n in (100, 4000, 5000, 10_000, 1_000_000)] == [15, 600, 750, 750, 750]

    def test_no_anomaly_no_window(self) -> None:
        assert anomaly_windows(1000, []).shape == (0, 2)


class TestRowValues:
    def test_the_scaled_sigmoid_matches_the_paper(self) -> None:
        for y in (-1.0, -0.5, 0.0, 0.01, 1.0, 2.5):
            assert scaled_sigmoid(np.array([y]))[0] == pytest.approx(sigma(y), abs=1e-15)
        assert scaled_sigmoid(np.array([3.0, 10.0])).tolist() == [-1.0, -1.0]
        assert sigma(-1.0) == pytest.approx(0.98661, abs=1e-5)

    def test_the_earliest_detection_in_a_window_earns_the_full_weight(self) -> None:
        s = series(1000, {450: 1.0}, [[450, 550]])
        assert raw_score(s, STANDARD, 0.5) == pytest.approx((1.0, 1, 0), abs=1e-12)

    def test_a_later_detection_earns_less(self) -> None:
        early = raw_score(series(1000, {460: 1.0}, [[450, 550]]), STANDARD, 0.5)[0]
        late = raw_score(series(1000, {540: 1.0}, [[450, 550]]), STANDARD, 0.5)[0]
        # position -(550 - row + 1) / 101, reward sigma(position) / sigma(-1)
        assert early == pytest.approx(sigma(-91 / 101) / sigma(-1.0), abs=1e-12)
        assert late == pytest.approx(sigma(-11 / 101) / sigma(-1.0), abs=1e-12)
        assert early > late > 0

    def test_only_the_first_detection_in_a_window_counts(self) -> None:
        one = raw_score(series(1000, {470: 1.0}, [[450, 550]]), STANDARD, 0.5)[0]
        more = raw_score(series(1000, {470: 1.0, 480: 1.0, 549: 1.0}, [[450, 550]]), STANDARD, 0.5)
        assert more == pytest.approx((one, 1, 0), abs=1e-15)

    def test_a_missed_window_costs_fn(self) -> None:
        s = series(1000, {}, [[450, 550]])
        assert raw_score(s, STANDARD, 0.5)[0] == -1.0
        assert raw_score(s, REWARD_LOW_FN, 0.5)[0] == -2.0

    def test_a_false_positive_costs_by_its_distance_after_the_preceding_window(self) -> None:
        far = raw_score(series(1000, {450: 1.0, 700: 1.0}, [[450, 550]]), STANDARD, 0.5)
        near = raw_score(series(1000, {450: 1.0, 551: 1.0}, [[450, 550]]), STANDARD, 0.5)
        # distance in (width - 1) = 100 rows past the right edge
        assert far == pytest.approx((1.0 + 0.11 * sigma(150 / 100), 1, 1), abs=1e-12)
        assert near == pytest.approx((1.0 + 0.11 * sigma(1 / 100), 1, 1), abs=1e-12)
        assert near[0] > far[0]

    def test_a_false_positive_before_any_window_costs_the_full_fp_weight(self) -> None:
        s = series(1000, {300: 1.0, 450: 1.0}, [[450, 550]])
        assert raw_score(s, STANDARD, 0.5)[0] == pytest.approx(1.0 - 0.11, abs=1e-12)
        assert raw_score(s, REWARD_LOW_FP, 0.5)[0] == pytest.approx(1.0 - 0.22, abs=1e-12)

    def test_detections_in_the_probationary_period_are_not_scored(self) -> None:
        s = series(1000, {10: 1.0, 149: 1.0, 450: 1.0}, [[450, 550]])
        assert raw_score(s, STANDARD, 0.5) == pytest.approx((1.0, 1, 0), abs=1e-12)


class TestNormalisedScore:
    def test_a_perfect_detector_scores_100_in_every_profile(self) -> None:
        windows = [[300, 340], [600, 640]]
        s = series(1000, {300: 0.9, 600: 0.9}, windows)
        for profile in PROFILES:
            assert nab(s, profile) == pytest.approx(100.0, abs=1e-9)

    def test_the_null_detector_scores_0(self) -> None:
        s = series(1000, {}, [[300, 340], [600, 640]]).null()
        for profile in PROFILES:
            assert nab(s, profile) == pytest.approx(0.0, abs=1e-12)

    def test_the_null_detectors_raw_score_is_every_window_missed(self) -> None:
        # flagging every row detects both windows on their first row (+2) but 800 rows of false positives
        # cost far more: its best threshold flags nothing, -fn per window
        s = series(1000, {}, [[300, 340], [600, 640]])
        threshold, raw = optimise_threshold(s.null(), STANDARD)
        assert (threshold, raw) == (math.inf, -2.0)

    def test_an_early_detection_beats_a_late_one(self) -> None:
        windows = [[450, 550]]
        assert nab(series(1000, {455: 1.0}, windows)) > nab(series(1000, {545: 1.0}, windows)) > 0

    def test_a_false_positive_costs(self) -> None:
        windows = [[450, 550]]
        clean = nab(series(1000, {455: 1.0}, windows))
        noisy = nab(series(1000, {455: 1.0, 900: 1.0}, windows))
        assert noisy < clean
        # raw 1 - 0.11 sigma(-) at 3.5 widths => -0.11; null -1, perfect 1
        expected = 100.0 * ((sigma(-96 / 101) / sigma(-1.0) - 0.11) + 1.0) / 2.0
        assert noisy == pytest.approx(expected, abs=1e-9)

    def test_a_series_without_windows_has_no_normalised_score(self) -> None:
        s = series(1000, {500: 1.0}, [])
        result = score_at(s, STANDARD, 0.5, math.inf)
        assert (result.raw, result.false_positives, result.windows) == (-0.11, 1, 0)
        assert math.isnan(result.normalised)


class TestSweep:
    def test_the_sweep_agrees_with_direct_scoring_at_every_threshold(self) -> None:
        rng = np.random.default_rng(3)
        parts = []
        for n in (800, 1500, 3000):
            scores = np.round(rng.random(n), 2)  # ties on purpose
            rows = np.sort(rng.choice(np.arange(int(0.2 * n), n), 3, replace=False))
            parts.append(NabSeries.of(scores, anomaly_windows(n, rows)))
        corpus = NabSeries.concat(parts)
        assert corpus.n_windows == sum(p.n_windows for p in parts)
        for profile in PROFILES:
            thresholds, raw = sweep(corpus, profile)
            assert thresholds[0] == math.inf and np.all(np.diff(thresholds) < 0)
            for t, r in zip(thresholds.tolist(), raw.tolist(), strict=True):
                assert r == pytest.approx(raw_score(corpus, profile, t)[0], abs=1e-9)
            assert raw.shape[0] == np.unique(corpus.scores).shape[0] + 1

    def test_the_optimiser_picks_the_best_threshold(self) -> None:
        # 0.9 on the window's first row, 0.7 on 20 rows far from it: flagging them costs 20 x 0.11
        s = series(1000, {450: 0.9, **{800 + i: 0.7 for i in range(20)}}, [[450, 550]])
        assert optimise_threshold(s, STANDARD) == pytest.approx((0.9, 1.0), abs=1e-12)

    def test_among_equal_scores_the_highest_threshold_wins(self) -> None:
        # a detection at 0.8 and another 0.6 row inside the same window later: both thresholds score alike
        s = series(1000, {450: 0.8, 500: 0.6}, [[450, 550]])
        assert optimise_threshold(s, STANDARD)[0] == 0.8

    def test_scores_must_be_finite(self) -> None:
        with pytest.raises(ValueError, match="finite"):
            NabSeries.of(np.array([0.0, math.nan]), np.zeros((0, 2), dtype=np.int64))
