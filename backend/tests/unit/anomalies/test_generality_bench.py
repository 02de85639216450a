"""`python -m dtwin_devkit.bench.generality` on a slice of the corpus: a table of finite NAB scores for every
detector, and a non-zero exit when there is nothing to measure."""

from pathlib import Path

import numpy as np
import pytest

from dtwin.anomalies import baselines
from dtwin.anomalies.nab import PROFILES
from dtwin_devkit.anomaly_corpus import load
from dtwin_devkit.bench import generality
from dtwin_devkit.bench.generality import (
    ALL,
    DETECTORS,
    ENGINE,
    NothingMeasured,
    check,
    engine_scores,
    markdown,
    run,
)


def test_a_slice_of_the_corpus_gives_a_finite_score_per_detector_class_and_profile() -> None:
    corpus = [s for s in load() if s.name in ("trend_1", "flat_then_moves_1", "noise_control_1")]
    res = run(corpus, throughput_rows=0)
    check(res)
    assert res.structures == ["flat_then_moves", "noise_control", "trend"]
    for profile in PROFILES:
        for d in DETECTORS:
            scores = res.nab[profile.name][d]
            assert set(scores) == {*res.structures, ALL}
            assert scores[ALL].windows == 6 and -200.0 < scores[ALL].normalised <= 100.0
            assert scores["noise_control"].windows == 0 and scores["noise_control"].raw <= 0.0
    text = markdown(res, took_s=1.0)
    assert text.count("| **all** | 6 |") == len(PROFILES)
    assert "| flat_then_moves | 6 |" not in text and "| flat_then_moves | 3 |" in text


def test_the_engine_is_scored_as_the_backtest_scores_it() -> None:
    s = next(s for s in load() if s.name == "flat_then_moves_1")
    scores, stats = engine_scores(s.csv)
    assert stats.rows == scores.shape[0] == s.values.shape[0]
    # a flat line that moves: the engine sees each move (a jump, a burst of noise, a ramp) inside its window
    assert [scores[lo : hi + 1].max() > 0.5 for lo, hi in s.windows.tolist()] == [True, True, True]


def test_an_empty_corpus_exits_non_zero(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        generality.main(["--corpus", str(tmp_path), "--throughput-rows", "0"])
    assert "measured nothing" in str(exc.value.code)


def test_a_corpus_without_anomalies_measures_nothing() -> None:
    res = run([s for s in load() if s.structure == "noise_control"], throughput_rows=0)
    with pytest.raises(NothingMeasured, match="no anomaly window"):
        check(res)


def test_a_detector_that_returns_no_finite_score_measures_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = [s for s in load() if s.name == "trend_1"]
    monkeypatch.setitem(baselines.BASELINES, "rolling_mad", lambda ts, x: np.full(x.shape[0], np.nan))
    with pytest.raises(NothingMeasured, match="rolling_mad on trend_1"):
        run(corpus, throughput_rows=0)
    assert ENGINE in DETECTORS
