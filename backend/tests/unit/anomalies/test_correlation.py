"""Correlation matrix per machine and correlation breaks."""

import numpy as np
import orjson

from dtwin.anomalies.correlation import (
    CorrelationConfig,
    CorrelationTracker,
    _window_std,
    phase_of,
    window_correlation,
)
from dtwin.anomalies.engine import ScoringEngine

from .helpers import machine_rows

SENSORS = ["motor_current_a", "power_kw", "ambient_c"]


def ar1(rng: np.random.Generator, n: int, phi: float = 0.8, sd: float = 1.0) -> np.ndarray:
    out = np.empty(n)
    e = rng.normal(0, sd, n)
    out[0] = e[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out


def coupled(n: int, seed: int, decouple_from: int | None = None) -> np.ndarray:
    """current varies (AR(1)); power follows it; ambient is independent. After `decouple_from`, power varies
    on its own."""
    rng = np.random.default_rng(seed)
    current = 40 + ar1(rng, n)
    power = 0.5 * current + rng.normal(0, 0.1, n)
    if decouple_from is not None:
        power[decouple_from:] = 20 + 0.5 * ar1(rng, n - decouple_from)
    ambient = rng.normal(20, 0.5, n)
    return np.column_stack([current, power, ambient])


def test_window_correlation_matches_numpy() -> None:
    X = coupled(100, 0)
    r = window_correlation(X[None, :, :])[0]
    np.testing.assert_allclose(r, np.corrcoef(X.T), atol=1e-9)


def test_window_correlation_skips_missing_and_flat() -> None:
    X = coupled(100, 1)
    X[10:20, 0] = np.nan
    X[:, 2] = 5.0
    r = window_correlation(X[None, :, :])[0]
    ok = np.isfinite(X[:, 0])
    assert abs(r[0, 1] - np.corrcoef(X[ok, 0], X[ok, 1])[0, 1]) < 1e-9
    assert np.isnan(r[0, 2]) and np.isnan(r[2, 1])


def test_break_detected_when_coupled_sensors_decouple() -> None:
    engine = ScoringEngine()
    machine_rows(engine, "m1", "motor", SENSORS, coupled(1600, 2, decouple_from=1300))
    report = engine.correlations("m1")
    assert report is not None
    sensors, matrix, breaks = report
    assert sensors == SENSORS and matrix.shape == (3, 3)
    assert [(b.sensor_a, b.sensor_b) for b in breaks] == [("motor_current_a", "power_kw")]
    assert breaks[0].baseline > 0.9 and breaks[0].recent < breaks[0].baseline - 0.4


def test_no_break_while_sensors_stay_coupled() -> None:
    engine = ScoringEngine()
    out = machine_rows(engine, "m1", "motor", SENSORS, coupled(1600, 3))
    report = engine.correlations("m1")
    assert report is not None and report.breaks == []
    assert report.matrix[0, 1] > 0.9
    assert out.machines.correlation_breaks.tolist() == [0]


def test_tracker_memory_is_bounded_by_the_window() -> None:
    cfg = CorrelationConfig(window=50)
    tracker = CorrelationTracker(3, cfg)
    tracker.ensure(2, 3)
    X = coupled(500, 4)
    tracker.push(np.zeros(500, dtype=np.int64), X)
    # the rows ensured (no minimum capacity: a type of one machine costs one row) x window x sensors,
    # whatever was pushed
    assert tracker.ring.shape == (2, 50, 3)
    np.testing.assert_allclose(tracker.recent(0), X[-50:].astype(np.float32), rtol=1e-6)


def test_baseline_does_not_depend_on_batch_size() -> None:
    X = coupled(1600, 9, decouple_from=1300)
    Y = coupled(1600, 10, decouple_from=1200)
    whole, pieces = ScoringEngine(), ScoringEngine()
    machine_rows(whole, "m1", "motor", SENSORS, X)
    machine_rows(whole, "m2", "motor", SENSORS, Y)  # windows ending inside the 50-vector pieces (phases)
    for start in range(0, 1600, 50):
        machine_rows(pieces, "m1", "motor", SENSORS, X[start : start + 50], start_s=float(start))
        machine_rows(pieces, "m2", "motor", SENSORS, Y[start : start + 50], start_s=float(start))
    a, b = whole.correlation_rings.trackers[0], pieces.correlation_rings.trackers[0]
    assert phase_of("m1", 100) % 50 and phase_of("m2", 100) % 50  # not at a piece's end
    expected = [(1600 - phase_of(m, 100)) // 100 for m in ("m1", "m2")]
    assert a.n_windows.tolist()[:2] == b.n_windows.tolist()[:2] == expected
    np.testing.assert_allclose(a.baseline[:2], b.baseline[:2], atol=1e-6)
    np.testing.assert_allclose(a.last[:2], b.last[:2], atol=1e-6)
    assert a.breaks[0] == b.breaks[0] == 1 and a.breaks[1] == b.breaks[1]


def test_machines_that_appeared_together_complete_their_windows_spread() -> None:
    """200 machines of a type, first seen in the same batch, one vector each per batch: their windows end
    spread over the window's 100 batches (a few per batch), not all 200 in one batch every 100."""
    engine = ScoringEngine()
    rng = np.random.default_rng(11)
    done = []
    for second in range(300):
        V = 40.0 + rng.normal(size=(200, len(SENSORS)))
        engine.score_arrays(
            np.concatenate([engine.register(f"m{j}", "motor", SENSORS) for j in range(200)]),
            np.full(200 * len(SENSORS), 1.7e9 + second),
            V.reshape(-1),
            np.repeat(np.arange(200, dtype=np.int64), len(SENSORS)),
            n_rows=200,
        )
        done.append(int(engine.correlation_rings.trackers[0].n_windows[:200].sum()))
    per_batch = np.diff(done)
    assert done[-1] == sum(3 if phase_of(f"m{j}", 100) == 0 else 2 for j in range(200))
    assert per_batch.max() <= 8, per_batch.max()  # about 2 (200 over 100 phases): 200 without phases


def test_batched_report_json_is_byte_for_byte_the_report() -> None:
    """`correlation_reports` (one numpy pass, for the stage's periodic writes) gives exactly the JSON of
    `correlations(id).to_dict()`: a machine with a break, one without, one of another type before its first
    window, and an unknown id (left out); and the window counts it is rewritten by."""
    engine = ScoringEngine()
    machine_rows(engine, "broken", "motor", SENSORS, coupled(1600, 2, decouple_from=1300))
    machine_rows(engine, "fine", "motor", SENSORS, coupled(1600, 3))
    machine_rows(engine, "young", "pump", ["a", "b"], coupled(40, 5)[:, :2])
    machine_rows(engine, "young-motor", "motor", SENSORS, coupled(60, 6))  # no window, beside some with
    assert phase_of("late", 100) > 10
    machine_rows(engine, "late", "motor", SENSORS, coupled(110, 7))  # its ring wrapped, no window yet
    reports = engine.correlation_reports(["young", "broken", "nobody", "young-motor", "fine", "late"])
    assert list(reports) == ["young", "broken", "young-motor", "fine", "late"]
    for machine_id, raw in reports.items():
        report = engine.correlations(machine_id)
        assert report is not None
        assert raw == orjson.dumps(report.to_dict()), machine_id
    assert orjson.loads(reports["broken"])["breaks"][0]["sensor_a"] == "motor_current_a"
    assert orjson.loads(reports["young"])["breaks"] == []
    ms = np.array([engine.index.machine(m) for m in ("broken", "fine", "young")], dtype=np.int64)
    # 1,600 vectors: windows end at 100 + phase, 200 + phase, ... (the phase from the machine's id)
    expected = [(1600 - phase_of(m, 100)) // 100 for m in ("broken", "fine")]
    assert engine.correlation_rings.windows(engine.index, ms).tolist() == [*expected, 0]


def test_a_sequence_of_windows_is_applied_as_window_after_window() -> None:
    """`_apply_sequence` (a backtest's windows, several per batch) leaves exactly the state that `_apply`
    gives window by window: baseline and spread (float32 after every window), breaks of the last window."""
    rng = np.random.default_rng(12)
    f, k = 4, 12
    load = rng.normal(0.0, 1.0, (k, 100, 1))
    win = load * np.array([1.0, 2.0, -1.5, 0.5]) + rng.normal(0.0, 0.3, (k, 100, f))
    win[7:, :, 3] = rng.normal(0.0, 1.0, (k - 7, 100))  # sensor 3 decouples from window 7
    win[2, :, 1] = 5.0  # a flat sensor: not judged in that window
    win[4, :50, 2] = np.nan
    recent, std = window_correlation(win), _window_std(win)
    seq, one = CorrelationTracker(f, CorrelationConfig()), CorrelationTracker(f, CorrelationConfig())
    for t in (seq, one):
        t.ensure(2, f)
    seq._apply_sequence(1, recent, std)
    for i in range(k):
        one._apply(np.array([1]), recent[i : i + 1], std[i : i + 1])
    for name in ("baseline", "spread", "n_windows", "breaks", "broken", "last"):
        np.testing.assert_array_equal(getattr(seq, name), getattr(one, name))
    assert one.breaks[1] > 0  # the decoupled sensor's pairs
