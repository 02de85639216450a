"""Machines leave the scoring engine (removed twins, silent machines) without changing anyone else's scores;
a machine type takes a bounded number of sensor names; correlations watch a bounded number of sensors."""

from collections.abc import Callable

import numpy as np
import pytest

from dtwin.anomalies.backtest import BacktestError, run_backtest
from dtwin.anomalies.correlation import CorrelationConfig
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.results import BatchScores
from dtwin.anomalies.type_model import TypeModel, fit_model
from dtwin.contracts.telemetry import Telemetry

from .helpers import telemetry

SENSORS = ("temperature_c", "vibration_mm_s", "pressure_bar", "flow_m3_h")
LIMITS = {"pump": {"temperature_c": (0.0, 120.0), "vibration_mm_s": (0.0, 10.0)}}
IDS = [f"pump-{m}" for m in range(6)]
LEAVING = ["pump-1", "pump-3", "pump-5"]
STAYING = ["pump-0", "pump-2", "pump-4"]


def fleet(seconds: int, seed: int = 0) -> list[dict[str, dict[str, float]]]:
    """Per second, per machine: sensors that follow the machine's own wandering load (so correlations and
    the type model have something to see), and now and then a spike (events, explanations, decisions)."""
    rng = np.random.default_rng(seed)
    load = np.clip(0.6 + np.cumsum(rng.normal(0.0, 0.02, (seconds, len(IDS))), axis=0), 0.1, 1.0)
    gain = np.array([20.0, 2.0, 1.0, 80.0])
    base = np.array([50.0, 2.0, 5.0, 40.0])
    noise = np.array([0.3, 0.03, 0.02, 0.8])
    x = base + gain * load[:, :, None] + noise * rng.normal(size=(seconds, len(IDS), len(SENSORS)))
    spikes = rng.random((seconds, len(IDS))) < 0.01
    x[..., 2] += np.where(spikes & (np.arange(seconds)[:, None] > 60), 1.5, 0.0)
    return [
        {machine_id: dict(zip(SENSORS, x[s, m].tolist(), strict=True)) for m, machine_id in enumerate(IDS)}
        for s in range(seconds)
    ]


def model() -> TypeModel:
    """One type model, installed in every engine compared (the engines never fit their own here)."""
    rng = np.random.default_rng(9)
    dev = rng.normal(0.0, 0.02, (3000, 1)) * np.array([20.0, 2.0, 1.0, 80.0])
    X = dev + rng.normal(size=(3000, 4)) * np.array([0.3, 0.03, 0.02, 0.8])
    return fit_model("pump", X, SENSORS, deviations=True)


def engine(m: TypeModel, clock: Callable[[], float] | None = None) -> ScoringEngine:
    e = ScoringEngine(limits=LIMITS, clock=clock)
    e.install_model(m)
    return e


def batch(data: list[dict[str, dict[str, float]]], s: int, ids: list[str]) -> list[Telemetry]:
    return [telemetry(machine_id, s, data[s][machine_id]) for machine_id in ids]


def view(out: BatchScores, ids: list[str]) -> dict[str, tuple[float, ...]]:
    """Per machine of `ids` in the batch: everything the batch says about it, as numbers."""
    m = out.machines
    pos = {machine_id: i for i, machine_id in enumerate(m.machine_ids)}
    return {
        machine_id: (
            float(m.score[i]),
            float(m.health[i]),
            float(m.rul_s[i]),
            float(m.strategy[i]),
            float(m.correlation_breaks[i]),
            float(m.is_anomaly[i]),
            float(m.detector[i]),
        )
        for machine_id, i in pos.items()
        if machine_id in ids
    }


def assert_same(a: BatchScores, b: BatchScores, ids: list[str]) -> None:
    va, vb = view(a, ids), view(b, ids)
    assert va.keys() == vb.keys()
    for machine_id in va:
        np.testing.assert_allclose(
            va[machine_id], vb[machine_id], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=machine_id
        )
        assert a.machines.explanations.get(machine_id) == b.machines.explanations.get(machine_id)
    assert [e.to_dict() for e in a.events if e.machine_id in ids] == [e.to_dict() for e in b.events]
    assert [d.to_dict() for d in a.decisions if d.machine_id in ids] == [d.to_dict() for d in b.decisions]


def assert_same_queries(a: ScoringEngine, b: ScoringEngine, ids: list[str]) -> None:
    for machine_id in ids:
        ha, hb = a.health(machine_id), b.health(machine_id)
        assert ha is not None and hb is not None
        assert ha.to_dict() == hb.to_dict()
        da, db = a.decision(machine_id), b.decision(machine_id)
        assert da is not None and db is not None
        assert da.to_dict() == db.to_dict()
        ca, cb = a.correlations(machine_id), b.correlations(machine_id)
        assert ca is not None and cb is not None
        assert ca.sensors == cb.sensors and ca.breaks == cb.breaks
        np.testing.assert_allclose(ca.matrix, cb.matrix, rtol=1e-9, equal_nan=True)


def test_forgotten_machines_leave_the_others_scores_unchanged() -> None:
    data, m = fleet(420), model()
    a, b = engine(m), engine(m)  # b never sees the machines a forgets
    anomalies = events = 0
    for s in range(420):
        if s == 150:
            assert a.forget([*LEAVING, "never-seen"]) == LEAVING
            assert a.compactions == 1  # half the machines dead: compacted at once
            assert a.index.n_machines == 3 and a.series.capacity == 3 * len(SENSORS)
        oa = a.score_batch(batch(data, s, IDS if s < 150 else STAYING))
        ob = b.score_batch(batch(data, s, STAYING))
        assert_same(oa, ob, STAYING)
        anomalies += int(ob.machines.is_anomaly.sum())
        events += len(ob.events)
    assert anomalies > 0 and events > 0  # the comparison covered anomalous rows and events
    for machine_id in LEAVING:
        assert (
            a.health(machine_id) is None
            and a.correlations(machine_id) is None
            and a.decision(machine_id) is None
        )
    assert_same_queries(a, b, STAYING)


def test_silent_machines_are_evicted_after_the_idle_time_and_the_rest_score_the_same() -> None:
    data, m = fleet(400, seed=1), model()
    now = [0.0]
    a, b = engine(m, clock=lambda: now[0]), engine(m)
    last_heard = 149  # the leaving machines' last message
    evicted_at: dict[int, list[str]] = {}
    for s in range(400):
        now[0] = float(s)
        gone = a.evict_idle(30.0)  # what the stage's housekeeping calls
        if gone:
            evicted_at[s] = gone
        oa = a.score_batch(batch(data, s, IDS if s <= last_heard else STAYING))
        ob = b.score_batch(batch(data, s, STAYING))
        assert_same(oa, ob, STAYING)
    # evicted once, when more than 30 s of the clock had passed since their last message, not before
    assert evicted_at == {last_heard + 31: LEAVING}
    assert a.index.n_machines == 3
    assert_same_queries(a, b, STAYING)


def test_idle_eviction_follows_stream_time_without_a_clock() -> None:
    data, m = fleet(100, seed=2), model()
    a = engine(m)
    for s in range(100):
        a.score_batch(batch(data, s, IDS if s < 50 else STAYING))
    assert a.evict_idle(60.0) == []  # last heard at 49, stream time 99: 50 s
    assert a.evict_idle(49.5) == LEAVING


def test_evicted_machine_that_returns_starts_afresh() -> None:
    data, m = fleet(300, seed=3), model()
    a = engine(m)
    for s in range(120):
        a.score_batch(batch(data, s, IDS))
    a.forget(["pump-1"])
    fresh = engine(m)  # what pump-1 looks like to an engine that never saw it
    for s in range(200, 300):
        oa = a.score_batch(batch(data, s, IDS))
        of = fresh.score_batch(batch(data, s, ["pump-1"]))
        assert_same(oa, of, ["pump-1"])
    slots = a.index.slots_for("pump-1", "pump", SENSORS)
    assert a.series.n[slots].tolist() == [100.0] * len(SENSORS)  # counted from its return only
    assert_same_queries(a, fresh, ["pump-1"])


def test_forgetting_a_few_machines_hides_them_and_compacts_later() -> None:
    data, m = fleet(40, seed=4), model()
    a = engine(m)
    for s in range(40):
        a.score_batch(batch(data, s, IDS))
    before = a.memory_bytes()
    a.forget(["pump-0"])  # 1 of 6 dead: below a quarter, no compaction yet
    assert a.compactions == 0 and a.index.n_machines == 6
    assert a.health("pump-0") is None and a.health("pump-1") is not None
    a.forget(["pump-1"])  # 2 of 6: compacted
    assert a.compactions == 1 and a.index.n_machines == 4
    assert a.index.machine_ids == ["pump-2", "pump-3", "pump-4", "pump-5"]
    assert a.memory_bytes() < before
    # second 39 again: stale for the four that stayed (their state survived the renumbering), new for the
    # two that left (they start afresh)
    out = a.score_batch(batch(data, 39, IDS))
    assert sorted(out.machines.machine_ids) == ["pump-0", "pump-1"]
    assert a.index.n_machines == 6


def test_types_without_machines_are_dropped_unless_they_have_a_model() -> None:
    data, m = fleet(30, seed=5), model()
    a = engine(m)
    for s in range(30):
        a.score_batch(batch(data, s, IDS))
        a.score_batch([telemetry("fan-1", s, {"rpm": 1000.0 + s, "power_kw": 5.0 + 0.1 * s}, "fan")])
    assert [t.name for t in a.index.types] == ["pump", "fan"]
    a.forget([*IDS, "fan-1"])
    assert [t.name for t in a.index.types] == ["pump"]  # kept for its model, which still scores
    assert a.model("pump") is m and a.model("fan") is None
    assert a.index.n_machines == 0 and a.memory_bytes() < 10_000
    out = a.score_batch(batch(data, 29, ["pump-2"]))
    assert out.machines.machine_ids == ["pump-2"]


def test_sensor_names_beyond_the_type_limit_are_not_scored_and_counted() -> None:
    a = ScoringEngine(EngineConfig(max_sensors_per_type=3))
    b = ScoringEngine()  # fed the accepted sensors only
    rng = np.random.default_rng(6)
    names = ("a", "b", "c", "d", "e")
    for s in range(80):
        v = dict(zip(names, (50.0 + rng.normal(size=5)).tolist(), strict=True))
        if s == 79:
            v["b"] = 80.0
        oa = a.score_batch([telemetry("m1", s, v), telemetry("m2", s, {"e": v["e"], "a": v["a"]})])
        ob = b.score_batch([telemetry("m1", s, {k: v[k] for k in "abc"}), telemetry("m2", s, {"a": v["a"]})])
        accepted = np.array([True, True, True, False, False, False, True])  # m1: a b c (d e), m2: (e) a
        assert oa.readings.scored.tolist() == accepted.tolist()
        assert (oa.readings.slot[~accepted] == -1).all()
        np.testing.assert_allclose(oa.readings.score[accepted], ob.readings.score, rtol=1e-12)
        np.testing.assert_allclose(oa.machines.score, ob.machines.score, rtol=1e-12)
    assert oa.machines.is_anomaly.tolist() == [True, False]
    assert a.refused_readings == 80 * 3
    assert a.index.types[0].sensors == ["a", "b", "c"] and a.index.n_series == 4


def test_backtest_refuses_more_sensors_than_a_type_may_have() -> None:
    import io

    header = "timestamp," + ",".join(f"s{i}" for i in range(4))
    with pytest.raises(BacktestError, match="at most 3 sensors"):
        run_backtest(
            io.StringIO(header + "\n0,1,2,3,4\n"), io.StringIO(), config=EngineConfig(max_sensors_per_type=3)
        )


def test_correlations_watch_the_first_sensors_of_a_type_only() -> None:
    cfg = EngineConfig(correlation=CorrelationConfig(window=20, max_features=5))
    a = ScoringEngine(cfg)
    rng = np.random.default_rng(7)
    names = [f"s{i:02d}" for i in range(12)]
    for s in range(45):
        load = rng.normal()
        a.score_batch(
            [telemetry("m1", s, {n: load * (i + 1) + 0.01 * rng.normal() for i, n in enumerate(names)})]
        )
    report = a.correlations("m1")
    assert report is not None
    assert report.sensors == names[:5] and report.matrix.shape == (5, 5)
    assert np.all(report.matrix[np.triu_indices(5, 1)] > 0.99)
    assert a.correlation_rings.trackers[0].ring.shape[2] == 5
