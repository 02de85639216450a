"""The calibrated ensemble (issue #22 item 3): each detector family calibrated per machine, the smallest tail
probabilities combined and calibrated again; the row explained by the rarest family and the sensor that gave
it. Calibrated on any noise, causal, independent of batching, compacted with the engine."""

import numpy as np
import numpy.typing as npt
import pytest

from dtwin.anomalies import ensemble
from dtwin.anomalies.detectors import (
    DETECTORS,
    LIMIT,
    SPIKE,
    STUCK,
    VARIANCE,
    DetectorOutput,
    SeriesState,
)
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.ensemble import (
    EnsembleConfig,
    EnsembleState,
    calibrate_ensemble,
    combined_evidence,
)
from dtwin.anomalies.explain import univariate
from dtwin.anomalies.results import BatchScores

from .helpers import machine_rows

F64 = npt.NDArray[np.float64]
SENSORS = ["a", "b", "c"]
WARM = 3_000  # rows before anything is injected (the variance detector's typical divergence settles)
# explanations are what these tests judge, on rows rarer than 1 in 200: stuck evidence stops at 2 (a run of
# 40), which cannot reach 0.9995 before ~7,000 rows of calibration (the row weighs a / 2 against T + a), and a
# fall of the spread to 0.1 x reaches variance evidence ~1 (a new extreme: ~0.997)
EXPLAIN_SCORE = 0.995


def engine(combine: str = "harmonic", alarm_score: float = 0.9995) -> ScoringEngine:
    cfg = EnsembleConfig(combine=combine)  # type: ignore[arg-type]
    return ScoringEngine(EngineConfig(ensemble=cfg, alarm_score=alarm_score))


def quiet(n: int, seed: int) -> F64:
    """Three independent Gaussian sensors."""
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, 3))


def stream(values: F64, onset: int, batch: int = 1, alarm_score: float = 0.9995) -> list[BatchScores]:
    """A machine's rows: everything before `onset` in one batch, the rest in batches of `batch` rows."""
    eng = engine(alarm_score=alarm_score)
    out = [machine_rows(eng, "m", "t", SENSORS, values[:onset])]
    for s in range(onset, values.shape[0], batch):
        out.append(machine_rows(eng, "m", "t", SENSORS, values[s : s + batch], start_s=float(s)))
    return out


def first_alarm(parts: list[BatchScores]) -> BatchScores:
    hit = [p for p in parts[1:] if p.machines.is_anomaly.any()]
    assert hit, "no alarm after the onset"
    return hit[0]


@pytest.mark.parametrize("combine", ["harmonic", "min"])
@pytest.mark.parametrize("kind", ["normal", "heavy_tailed"])
def test_final_score_reaches_099_on_about_1_percent_of_normal_rows(combine: str, kind: str) -> None:
    rng = np.random.default_rng(11)
    n = 16_000
    x = rng.normal(0.0, 1.0, (n, 3)) if kind == "normal" else 1e3 + 20.0 * rng.standard_t(3, (n, 3))
    s = machine_rows(engine(combine), "m", "t", SENSORS, x).rows.score[2_000:]
    assert 0.0075 <= np.mean(s >= 0.99) <= 0.0125
    assert 0.085 <= np.mean(s >= 0.9) <= 0.115


def test_a_spike_is_explained_by_the_spike_detector_on_its_sensor() -> None:
    x = quiet(WARM + 1, 1)
    x[WARM, 1] += 25.0
    hit = first_alarm(stream(x, WARM))
    assert DETECTORS[int(hit.rows.detector[0])] == "spike"
    top = hit.machines.explanations["m"][0]
    assert (top.sensor, top.detector) == ("b", "spike")


def test_a_fall_in_spread_is_explained_by_the_variance_detector_on_its_sensor() -> None:
    x = quiet(WARM + 300, 2)
    x[WARM:, 2] *= 0.1
    hit = first_alarm(stream(x, WARM, alarm_score=EXPLAIN_SCORE))
    assert int(hit.rows.detector[0]) == VARIANCE
    top = hit.machines.explanations["m"][0]
    assert (top.sensor, top.detector) == ("c", "variance")


def test_a_stuck_sensor_is_explained_by_the_stuck_detector_on_its_sensor() -> None:
    x = quiet(WARM + 300, 3)
    x[WARM:, 0] = x[WARM - 1, 0]
    hit = first_alarm(stream(x, WARM, alarm_score=EXPLAIN_SCORE))
    assert int(hit.rows.detector[0]) == STUCK
    top = hit.machines.explanations["m"][0]
    assert (top.sensor, top.detector) == ("a", "stuck")


def test_a_row_beyond_its_operating_range_keeps_the_limit_label() -> None:
    eng = ScoringEngine(limits={"t": {"a": (-50.0, 50.0)}})
    x = quiet(WARM + 1, 4)
    x[WARM, 0] = 80.0
    machine_rows(eng, "m", "t", SENSORS, x[:WARM])
    out = machine_rows(eng, "m", "t", SENSORS, x[WARM:], start_s=float(WARM))
    assert int(out.rows.detector[0]) == LIMIT and bool(out.rows.alarm[0])


def test_scores_and_labels_do_not_depend_on_batching() -> None:
    x = quiet(WARM + 600, 5)
    x[WARM + 100, 1] += 9.0
    x[WARM + 300 :, 2] *= 0.2
    whole = machine_rows(engine(), "m", "t", SENSORS, x).rows
    for batch in (1, 7, 250):
        parts = stream(x, WARM, batch)
        score = np.concatenate([p.rows.score for p in parts])
        label = np.concatenate([p.rows.detector for p in parts])
        np.testing.assert_allclose(score, whole.score, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(label, whole.detector)


def test_scores_are_causal_a_cut_stream_keeps_its_earlier_scores() -> None:
    x = quiet(WARM + 400, 6)
    x[WARM + 50, 0] += 30.0
    x[WARM + 200 :, 1] += 4.0
    full = machine_rows(engine(), "m", "t", SENSORS, x).rows.score
    for cut in (1, WARM + 50, WARM + 51, WARM + 250):
        np.testing.assert_array_equal(
            machine_rows(engine(), "m", "t", SENSORS, x[:cut]).rows.score, full[:cut]
        )


def test_folding_the_lazy_scale_into_the_histograms_changes_no_score(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-row path decays a machine's histograms through a scale, folded in when it gets small (every
    ~400,000 rows by default; here every ~700): the scores match the dense scan's."""
    rng = np.random.default_rng(7)
    ev = np.abs(rng.normal(0.0, 0.4, (3_000, ensemble.N_FAMILIES)))
    machines = np.zeros(3_000, dtype=np.int64)
    cfg = EnsembleConfig()
    whole = calibrate_ensemble(cfg, 0.001, _state(1), machines, ev)
    monkeypatch.setattr(ensemble, "_RENORMALISE_BELOW", 0.5)
    state = _state(1)
    one = [calibrate_ensemble(cfg, 0.001, state, machines[:1], ev[i : i + 1]).p for i in range(3_000)]
    assert state.s[0] > 0.5  # folded in: a fresh scale
    np.testing.assert_allclose(np.concatenate(one), whole.p, rtol=1e-9)


def test_one_chatty_machine_among_many_quiet_ones_is_calibrated_as_if_alone() -> None:
    rng = np.random.default_rng(8)
    counts = [1_500, *([1] * 200), *([6] * 30)]
    machines = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    ev = np.abs(rng.normal(0.0, 0.4, (machines.shape[0], ensemble.N_FAMILIES)))
    cfg = EnsembleConfig()
    together = calibrate_ensemble(cfg, 0.001, _state(len(counts)), machines, ev)
    alone = calibrate_ensemble(cfg, 0.001, _state(1), machines[:1_500], ev[:1_500])
    np.testing.assert_allclose(together.p[:1_500], alone.p, rtol=1e-12)
    np.testing.assert_allclose(together.p_family[:1_500], alone.p_family, rtol=1e-12)


def test_compaction_keeps_a_machines_ensemble_state_and_drops_the_forgotten() -> None:
    rng = np.random.default_rng(9)
    x = quiet(3_000, 10)
    x[2_500, 2] += 15.0
    with_other, alone = engine(), engine()
    machine_rows(with_other, "gone", "t", SENSORS, rng.normal(5.0, 2.0, (1_500, 3)))
    first = machine_rows(with_other, "kept", "t", SENSORS, x[:1_500]).rows.score
    before = with_other.fleet.ensemble.fam.shape[0]
    assert with_other.forget(["gone"]) == ["gone"] and with_other.compactions == 1
    assert with_other.fleet.ensemble.fam.shape[0] == 1 < before
    assert with_other.fleet.calibration.q.shape[0] == 0  # the max rule's state is not kept alongside
    second = machine_rows(with_other, "kept", "t", SENSORS, x[1_500:], start_s=1_500.0).rows.score
    ref = machine_rows(alone, "kept", "t", SENSORS, x).rows.score
    np.testing.assert_allclose(np.concatenate([first, second]), ref, rtol=1e-9, atol=1e-12)


def test_the_max_rule_is_kept_behind_the_switch_and_keeps_no_ensemble_state() -> None:
    eng = engine("max")
    out = machine_rows(eng, "m", "t", SENSORS, quiet(500, 12))
    assert eng.fleet.ensemble.fam.shape[0] == 0 and eng.fleet.calibration.q.shape[0] > 0
    assert out.rows.score.max() > 0.9


def test_combined_evidence_is_the_single_family_p_when_one_family_stands_out() -> None:
    """One family at p, the others at 1: both rules give `a / ((T + a) p)`; a second unusual family adds to
    the harmonic statistic only."""
    total = np.array([1.0, 1.0])
    p = np.ones((2, ensemble.N_FAMILIES))
    p[:, SPIKE - 1] = 1e-3
    p[1, VARIANCE - 1] = 1e-3
    a = 0.001
    h = combined_evidence(EnsembleConfig(combine="harmonic"), p, a, total)
    m = combined_evidence(EnsembleConfig(combine="min"), p, a, total)
    np.testing.assert_allclose(m, [1.0 / 1.001, 1.0 / 1.001])
    np.testing.assert_allclose(h[0], m[0])
    assert h[1] == pytest.approx(a * (1.0 + 2 * (1e3 - 1.0)) / 1.001)


def _state(n: int) -> EnsembleState:
    state = EnsembleState()
    state.grow(n)
    return state


def test_the_explanation_ranks_sensors_by_the_named_detectors_evidence_first() -> None:
    """Sensor `x` has the larger evidence (a spike), `y` the variance evidence: explained as a variance
    change, `y` comes first, with the variance detector's evidence and label."""
    fam = np.zeros((2, ensemble.N_FAMILIES))
    fam[0, SPIKE - 1] = 3.0
    fam[1, VARIANCE - 1], fam[1, SPIKE - 1] = 1.2, 0.4
    z = np.array([15.0, 2.0])
    det = DetectorOutput(
        evidence=np.array([3.0, 1.2]),
        score=np.zeros(2),
        detector=np.array([SPIKE, VARIANCE], dtype=np.int8),
        z=z,
        expected=np.zeros(2),
        sigma=np.ones(2),
        slow=np.zeros(2),
        fast=np.zeros(2),
        families=fam,
    )
    series = SeriesState.empty(2)
    readings = np.arange(2, dtype=np.int64)
    args = (readings, ["x", "y"], readings, z, det, series, 2)
    by_evidence = [(c.sensor, c.detector) for c in univariate(*args)]
    by_variance = [(c.sensor, c.detector, c.evidence) for c in univariate(*args, VARIANCE)]
    assert by_evidence == [("x", "spike"), ("y", "variance")]
    assert by_variance == [("y", "variance", 1.2), ("x", "spike", 3.0)]
