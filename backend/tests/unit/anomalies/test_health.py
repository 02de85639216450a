"""Machine health and remaining useful life."""

import numpy as np

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.health import HealthConfig, TrendFit, fit_trend, remaining_life
from dtwin.anomalies.results import MachineHealth

from .helpers import machine_rows

ONSET = 3000
CONFIG = EngineConfig(health=HealthConfig(sample_every_s=10.0))
LIMITS = {"press": {"oil_temp_c": (0.0, 100.0), "vibration_mm_s": (0.0, 10.0)}}


def run(degrade: bool, seed: int = 0, n: int = 5000, chunk: int = 250) -> list[tuple[int, MachineHealth]]:
    rng = np.random.default_rng(seed)
    engine = ScoringEngine(CONFIG, limits=LIMITS)
    t = np.arange(n, dtype=np.float64)
    temp = 50 + rng.normal(0, 1, n)
    vib = 3 + rng.normal(0, 0.2, n)
    if degrade:  # accelerating wear after ONSET
        u = np.clip((t - ONSET) / 6000.0, 0.0, None)
        temp += 48 * u**2
        vib += 6 * u**2
    values = np.column_stack([temp, vib])
    out = []
    for start in range(0, n, chunk):
        machine_rows(
            engine,
            "press-1",
            "press",
            ["oil_temp_c", "vibration_mm_s"],
            values[start : start + chunk],
            start_s=float(start),
        )
        h = engine.health("press-1")
        assert h is not None
        out.append((start + chunk, h))
    return out


def test_health_drops_and_rul_appears_under_degradation() -> None:
    checkpoints = run(degrade=True)
    before = [h for end, h in checkpoints if end <= ONSET]
    after = [h for end, h in checkpoints if end > ONSET]
    assert min(h.health for h in before) >= 90
    assert all(h.rul is None for h in before)
    assert min(h.health for h in after) < 60
    ruls = [h.rul for h in after if h.rul is not None]
    assert ruls, "no RUL estimate during the degradation"
    for rul in ruls:
        assert rul.upper_s is not None
        assert 0 <= rul.lower_s <= rul.seconds <= rul.upper_s
    assert any(r.seconds > 0 for r in ruls)


def test_no_rul_without_a_trend() -> None:
    for _, h in run(degrade=False, seed=1):
        assert h.rul is None
        assert h.health >= 90


def test_trend_regression_recovers_a_known_line() -> None:
    # health falling 1 point per minute from 90, sampled every minute for 40 minutes, small noise
    k = 40
    t = np.arange(k, dtype=np.float64) * 60.0
    h = 90.0 - t / 60.0 + np.random.default_rng(2).normal(0, 0.2, k)
    cfg = HealthConfig(sample_every_s=60.0, window=64)
    fit = fit_trend(t[None, :], h[None, :], np.array([k]), np.array([t[-1]]), cfg)
    assert fit.significant[0]
    assert abs(fit.slope[0] * 60.0 + 1.0) < 0.05  # points per minute
    est, lo, hi = remaining_life(fit, cfg)
    expected = (fit.level[0] - cfg.fail_health) / (-fit.slope[0])
    assert abs(est[0] - expected) < 1e-6
    assert lo[0] <= est[0] <= hi[0]
    assert abs(est[0] / 60.0 - (51.0 - 25.0)) < 2.0  # ~26 minutes left from ~51 to 25


def test_flat_health_has_no_significant_trend() -> None:
    k = 60
    t = np.arange(k, dtype=np.float64) * 60.0
    h = 70.0 + np.random.default_rng(3).normal(0, 1.0, k)
    fit = fit_trend(t[None, :], h[None, :], np.array([k]), np.array([t[-1]]), HealthConfig())
    assert not fit.significant[0]
    est, _, _ = remaining_life(fit, HealthConfig())
    assert np.isnan(est[0])


def test_rul_band_is_ordered_for_any_significant_fit() -> None:
    fit = TrendFit(
        slope=np.array([-0.01, -0.002]),
        level=np.array([80.0, 40.0]),
        se=np.array([0.001, 0.0005]),
        significant=np.array([True, True]),
    )
    est, lo, hi = remaining_life(fit, HealthConfig())
    assert np.all(lo <= est) and np.all(est <= hi)
