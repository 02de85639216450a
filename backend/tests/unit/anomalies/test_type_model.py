"""The per-type multivariate model: joint anomalies, training policy through the engine, persistence."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.type_model import TrainingPolicy, fit_model

from .helpers import machine_rows

SENSORS = ["load_pct", "vibration_mm_s", "temperature_c"]


def healthy(n: int, seed: int) -> np.ndarray:
    """Vibration follows load; temperature is independent."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(20.0, 100.0, n)
    vib = 1.0 + 0.03 * load + rng.normal(0, 0.05, n)
    temp = rng.normal(60.0, 1.0, n)
    return np.column_stack([load, vib, temp])


def running(n: int, seed: int) -> np.ndarray:
    """The same machine as a time series at 1 Hz: load wanders slowly over 20-100% (as a plant's load does;
    the engine's model sees levels smoothed over ~100 samples, so i.i.d. rows would not exercise it)."""
    rng = np.random.default_rng(seed)
    load = 60.0 + 35.0 * np.sin(np.arange(n) / 300.0 + rng.uniform(0, 6.3)) + rng.normal(0, 0.5, n)
    vib = 1.0 + 0.03 * load + rng.normal(0, 0.05, n)
    temp = rng.normal(60.0, 1.0, n)
    return np.column_stack([load, vib, temp])


# high vibration at low load: each value is inside its own healthy range, the pair is not
ODD = np.array([[25.0, 3.8, 60.0]])


def test_joint_anomaly_flagged_and_healthy_combinations_not() -> None:
    model = fit_model("fan", healthy(3000, 0), SENSORS)
    X = healthy(3000, 0)
    assert X[:, 0].min() <= ODD[0, 0] <= X[:, 0].max() and X[:, 1].min() <= ODD[0, 1] <= X[:, 1].max()
    assert model.score_samples(ODD)[0] > 2.0
    held_out = model.score_samples(healthy(2000, 1))
    assert np.mean(held_out >= 1.0) < 0.005


def test_contributions_point_at_the_pair_not_the_bystander() -> None:
    model = fit_model("fan", healthy(3000, 2), SENSORS)
    c = model.contributions(ODD)[0]
    assert set(np.argsort(-c)[:2].tolist()) == {0, 1}
    assert c[2] < 0.1 * c[:2].min()


def test_fit_is_deterministic_and_needs_enough_samples() -> None:
    X = healthy(1000, 3)
    a, b = fit_model("fan", X, SENSORS), fit_model("fan", X, SENSORS)
    np.testing.assert_array_equal(a.score_samples(ODD), b.score_samples(ODD))
    with pytest.raises(ValueError, match="at least"):
        fit_model("fan", X[:10], SENSORS)


def test_model_pickles_for_a_process_pool() -> None:
    model = fit_model("fan", healthy(1000, 4), SENSORS)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.score_samples(ODD), model.score_samples(ODD))


def test_store_versions_and_latest_reloads_same_predictions(tmp_path: Path) -> None:
    store = FileModelStore(tmp_path)
    first = store.save(fit_model("fan/v2", healthy(1000, 5), SENSORS))
    second = store.save(fit_model("fan/v2", healthy(1000, 6), SENSORS))
    assert (first.version, second.version) == (1, 2)
    reloaded = FileModelStore(tmp_path).latest("fan/v2")
    assert reloaded is not None and reloaded.version == 2
    probe = np.vstack([ODD, healthy(50, 7)])
    np.testing.assert_array_equal(reloaded.score_samples(probe), second.score_samples(probe))
    assert FileModelStore(tmp_path).versions("fan/v2") == [1, 2]
    assert FileModelStore(tmp_path).latest("other") is None


def test_engine_trains_installs_and_flags_the_combination() -> None:
    policy = TrainingPolicy(min_samples=400, sample_stride=1)
    engine = ScoringEngine(EngineConfig(training=policy))
    data = {f"fan-{i}": running(1500, 10 + i) for i in range(4)}
    for name, X in data.items():
        machine_rows(engine, name, "fan", SENSORS, X)
    jobs = engine.training_due()
    assert [j.machine_type for j in jobs] == ["fan"]
    assert engine.training_due() == []  # handed out once
    job = jobs[0]
    assert job.sensors == tuple(SENSORS) and job.X.shape[1] == 3 and job.X.shape[0] >= 400
    engine.install_model(fit_model(*job))
    assert engine.model("fan") is not None

    # the engine's model sees smoothed deviations (levels over ~100 samples): a combination that holds for
    # a while is flagged, a single odd row is not (a transient is not a fault)
    rng = np.random.default_rng(21)
    odd = ODD + rng.normal(0, [0.5, 0.05, 1.0], (120, 3))
    normal = running(1620, 10)[1500:]  # fan-0 carries on as before for two minutes
    out = machine_rows(engine, "fan-0", "fan", SENSORS, np.vstack([normal, odd]), start_s=1500.0)
    assert np.all(out.rows.level[:120] < 0.5)
    flagged = np.flatnonzero(out.rows.level[120:] > 0.5)
    # the jump itself is a spike; what holds after it is the type model's (multivariate)
    assert flagged.shape[0] > 60 and np.mean(out.rows.detector[120 + flagged] == 7) > 0.9
    names = [c.sensor for c in out.machines.explanations["fan-0"][:2]]
    assert set(names) == {"load_pct", "vibration_mm_s"}


def test_model_installed_before_any_data_is_used(tmp_path: Path) -> None:
    FileModelStore(tmp_path).save(fit_model("fan", healthy(2000, 30), SENSORS))
    engine = ScoringEngine()  # e.g. a restarted service: load the latest model first
    latest = FileModelStore(tmp_path).latest("fan")
    assert latest is not None
    engine.install_model(latest)
    reordered = ["temperature_c", "load_pct", "vibration_mm_s"]  # messages may list sensors in any order
    probe = np.vstack([healthy(10, 31), ODD])[:, [2, 0, 1]]
    out = machine_rows(engine, "fan-9", "fan", reordered, probe)
    assert out.rows.detector[-1] == 7 and out.rows.level[-1] > 0.5
    assert np.all(out.rows.level[:-1] < 0.5)


def test_moving_along_the_trained_relation_is_not_an_anomaly() -> None:
    # trained at 20-100% load; at 130% vibration still follows load as it always did: no combination broke
    model = fit_model("fan", healthy(4000, 0))
    beyond = np.array([[130.0, 1.0 + 0.03 * 130.0, 60.0]])
    assert model.score_samples(beyond)[0] < 0.5
    broken = np.array([[130.0, 1.0 + 0.03 * 100.0, 60.0]])  # ...but not if vibration stays at the old level
    assert model.score_samples(broken)[0] > 2.0


def test_a_missing_sensor_is_marginalised_not_replaced_by_its_mean() -> None:
    model = fit_model("fan", healthy(4000, 40), SENSORS)
    high_load = np.array([[95.0, np.nan, 60.0]])  # vibration unknown at a load far from the mean
    assert model.score_samples(high_load)[0] < 0.5
    c = model.contributions(high_load)[0]
    assert c[1] == 0.0  # the missing sensor is not blamed
    # what the row has is still judged: temperature far off with vibration missing
    assert model.score_samples(np.array([[95.0, np.nan, 75.0]]))[0] > 2.0
    assert model.score_samples(np.array([[np.nan, np.nan, np.nan]]))[0] == 0.0
    # a complete row scores as before (the marginal path is only for missing features)
    full = np.array([[40.0, 1.0 + 0.03 * 40.0, 61.0]])
    np.testing.assert_allclose(
        model.contributions(full), model.contributions(np.vstack([full, high_load]))[:1]
    )


def test_a_sensor_that_stops_reporting_is_not_carried_into_the_model_for_ever() -> None:
    """A dropout: vibration stops reporting, then the load swings. Carried for ever, the frozen vibration
    would contradict the load (a multivariate alarm on a healthy machine); after `carry_max_s` it is missing
    and the model judges the other sensors."""

    def engine_with(carry_max_s: float) -> ScoringEngine:
        policy = TrainingPolicy(min_samples=400, sample_stride=1)
        engine = ScoringEngine(EngineConfig(training=policy, carry_max_s=carry_max_s))
        for i in range(4):
            machine_rows(engine, f"fan-{i}", "fan", SENSORS, running(1500, 50 + i))
        engine.install_model(fit_model(*engine.training_due()[0]))
        return engine

    rows = running(3000, 50)[1500:]
    rows[60:, 1] = np.nan  # the dropout
    out = machine_rows(engine_with(20.0), "fan-0", "fan", SENSORS, rows, start_s=1500.0)
    assert np.all(out.rows.level < 0.5), out.rows.level.max()
    # the same rows with the value carried for ever raise the alarm this prevents
    stale = machine_rows(engine_with(float("inf")), "fan-0", "fan", SENSORS, rows, start_s=1500.0)
    # (the first row above the threshold: later ones are labelled by whichever detector is rarest for the
    # machine then, and a contradiction that persists stops being rare for the model's own calibration)
    above = np.flatnonzero(stale.rows.level > 0.5)
    assert above.shape[0] and stale.rows.detector[above[0]] == 7
