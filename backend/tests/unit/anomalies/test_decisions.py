"""Adaptive strategy decisions: defensive, aggressive, hysteresis, deterministic confidence."""

import itertools

import numpy as np

from dtwin.anomalies import decisions as dec
from dtwin.anomalies.engine import ScoringEngine

from .helpers import machine_rows

SENSORS = ["bearing_temp_c", "vibration_mm_s"]
LIMITS = {"mill": {"bearing_temp_c": (20.0, 100.0), "vibration_mm_s": (0.0, 10.0)}}


def rows(n: int, seed: int, temp: float = 50.0, vib: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([temp + rng.normal(0, 0.5, n), vib + rng.normal(0, 0.05, n)])


def run(
    chunks: list[np.ndarray], limits: dict[str, dict[str, tuple[float, float]]] | None = LIMITS
) -> tuple[ScoringEngine, list[dec.Decision]]:
    engine = ScoringEngine(limits=limits)
    decisions: list[dec.Decision] = []
    start = 0.0
    for chunk in chunks:
        out = machine_rows(engine, "mill-1", "mill", SENSORS, chunk, start_s=start)
        decisions += out.decisions
        start += chunk.shape[0]
    return engine, decisions


def test_defensive_under_a_strong_sustained_anomaly() -> None:
    healthy = [rows(50, k) for k in range(4)]
    hot = [rows(50, 10 + k, temp=108.0) for k in range(3)]  # 10% of the range beyond the bearing limit
    engine, decisions = run(healthy + hot)
    assert decisions[-1].strategy == "defensive"
    current = engine.decision("mill-1")
    assert current is not None and current.strategy == "defensive"
    assert current.risk >= 0.6
    assert any("reduce load" in r for r in current.reasons)
    assert any("bearing_temp_c" in r for r in current.reasons)


def test_aggressive_when_healthy_with_headroom() -> None:
    engine, decisions = run([rows(50, k, temp=45.0, vib=3.0) for k in range(6)])
    assert decisions and decisions[-1].strategy == "aggressive"
    d = engine.decision("mill-1")
    assert d is not None and d.opportunity >= 0.35 and d.risk <= 0.15
    assert any("headroom" in r for r in d.reasons)


def test_no_headroom_without_limits_means_no_aggressive() -> None:
    engine, _ = run([rows(50, k) for k in range(6)], limits=None)
    d = engine.decision("mill-1")
    assert d is not None and d.strategy == "stable_growth" and d.opportunity == 0.0


def test_no_headroom_near_the_upper_limit() -> None:
    engine, _ = run([rows(50, k, temp=88.0) for k in range(6)])  # 15% below the limit: below 35% headroom
    d = engine.decision("mill-1")
    assert d is not None and d.strategy != "aggressive"


def _simulate(cfg: dec.DecisionConfig, risks: np.ndarray) -> list[int]:
    strategy = np.array([dec.NO_DECISION])
    since = np.array([-np.inf])
    history = []
    for i, risk in enumerate(risks.tolist()):
        a = dec.Assessment(
            risk=np.array([risk]),
            opportunity=np.array([0.0]),
            stability=np.array([1.0]),
            r_health=np.array([risk]),
            r_rul=np.array([0.0]),
            r_corr=np.array([0.0]),
        )
        now = np.array([float(i)])
        new = dec.choose(cfg, strategy, since, now, np.array([1000.0]), a)
        since = np.where(new != strategy, now, since)
        strategy = new
        history.append(int(strategy[0]))
    return history


def changes(history: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(history) if a != b)


def test_hysteresis_prevents_flapping_on_a_borderline_oscillation() -> None:
    risks = 0.6 + 0.05 * np.where(np.arange(600) % 2 == 0, 1.0, -1.0)  # 0.65, 0.55, 0.65, ...
    assert changes(_simulate(dec.DecisionConfig(), risks)) <= 1
    no_hysteresis = dec.DecisionConfig(
        defensive_enter=0.6, defensive_exit=0.6, neutral_enter=0.6, neutral_exit=0.6, min_dwell_s=0.0
    )
    assert changes(_simulate(no_hysteresis, risks)) > 100  # what the hysteresis prevents


def test_dwell_time_limits_changes_when_oscillating_across_both_thresholds() -> None:
    risks = np.where((np.arange(3000) // 20) % 2 == 0, 0.7, 0.05)  # strong swings every 20 s
    history = _simulate(dec.DecisionConfig(min_dwell_s=300.0), risks)
    # escalation to defensive is immediate, every other change waits >= 300 s: at most 2 changes per 300 s
    assert changes(history) <= 2 * (3000 // 300) + 2


def test_confidence_is_deterministic_and_grows_with_the_margin() -> None:
    cfg = dec.DecisionConfig()

    def conf(risk: float) -> float:
        a = dec.Assessment(*(np.array([v]) for v in (risk, 0.0, 1.0, risk, 0.0, 0.0)))
        return float(dec.confidence(cfg, np.array([dec.DEFENSIVE]), a, np.array([1000.0]))[0])

    assert conf(0.7) == conf(0.7)
    assert 0.5 <= conf(0.65) < conf(0.8) < conf(0.95) <= 1.0


def test_same_input_same_decisions() -> None:
    chunks = [rows(50, k) for k in range(4)] + [rows(50, 20, temp=104.0)]
    _, first = run(chunks)
    _, second = run(chunks)
    assert [d.to_dict() for d in first] == [d.to_dict() for d in second]
    assert first  # there were decisions to compare
