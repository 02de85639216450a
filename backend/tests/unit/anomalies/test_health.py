"""Machine health and remaining useful life."""

import math

import numpy as np

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.health import HealthConfig, TrendFit, fit_trend, remaining_life
from dtwin.anomalies.results import MachineHealth

from .helpers import F64, machine_rows

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
    for rul in ruls:  # an upper bound may be unbounded (None): the optimistic trend need not fail
        assert 0 <= rul.lower_s <= rul.seconds
        assert rul.upper_s is None or rul.seconds <= rul.upper_s
    assert any(r.seconds > 0 for r in ruls)


def test_no_rul_without_a_trend() -> None:
    for _, h in run(degrade=False, seed=1):
        assert h.rul is None
        assert h.health >= 90


def fit_one(t: F64, h: F64, cfg: HealthConfig) -> tuple[TrendFit, tuple[F64, F64, F64]]:
    """The trend and RUL of one machine's health samples (the ring's newest `window`), now = the last."""
    t2, h2 = t[None, -cfg.window :], h[None, -cfg.window :]
    count, now = np.array([t2.shape[1]]), np.array([t[-1]])
    fit = fit_trend(t2, h2, count, now, cfg)
    return fit, remaining_life(t2, h2, count, now, fit, cfg)


def test_trend_regression_recovers_a_known_line() -> None:
    # health falling 1 point per minute from 90, sampled every minute for 40 minutes, small noise
    k = 40
    t = np.arange(k, dtype=np.float64) * 60.0
    h = 90.0 - t / 60.0 + np.random.default_rng(2).normal(0, 0.2, k)
    cfg = HealthConfig(sample_every_s=60.0, window=64, trend_max_penalty=0.0)
    fit, (est, lo, hi) = fit_one(t, h, cfg)
    assert fit.significant[0]
    assert abs(fit.slope[0] * 60.0 + 1.0) < 0.05  # points per minute
    expected = (fit.level[0] - cfg.fail_health) / (-fit.slope[0])
    assert abs(est[0] - expected) < 30.0  # the line's crossing (the grid is interpolated)
    assert lo[0] <= est[0] <= hi[0]
    assert abs(est[0] / 60.0 - (51.0 - 25.0)) < 2.0  # ~26 minutes left from ~51 to 25


def test_rul_counts_to_the_reported_health_with_its_trend_penalty() -> None:
    k = 40
    t = np.arange(k, dtype=np.float64) * 60.0
    h = 90.0 - t / 60.0 + np.random.default_rng(2).normal(0, 0.2, k)
    cfg = HealthConfig(sample_every_s=60.0, window=64)  # penalty: the hour's loss, capped at 20 points
    _, (est, _, _) = fit_one(t, h, cfg)
    # the reported health is 20 points below the trend: it reaches 25 when the trend reaches 45
    assert abs(est[0] / 60.0 - (51.0 - 45.0)) < 1.0


def test_flat_health_has_no_significant_trend() -> None:
    k = 60
    t = np.arange(k, dtype=np.float64) * 60.0
    h = 70.0 + np.random.default_rng(3).normal(0, 1.0, k)
    fit, (est, _, _) = fit_one(t, h, HealthConfig())
    assert not fit.significant[0]
    assert np.isnan(est[0])


def test_rul_band_is_ordered_for_any_significant_fit() -> None:
    rng = np.random.default_rng(4)
    cfg = HealthConfig()
    t = np.arange(64, dtype=np.float64)[None, :].repeat(3, axis=0) * 60.0
    h = 90.0 - np.array([[0.3], [0.15], [1.0]]) * t / 60.0 + rng.normal(0, 1.0, t.shape)
    count, now = np.full(3, 64), t[:, -1].copy()
    fit = fit_trend(t, h, count, now, cfg)
    assert fit.significant.all()
    est, lo, hi = remaining_life(t, h, count, now, fit, cfg)
    assert np.all(lo <= est) and np.all(est <= hi)


def test_band_includes_now_when_health_is_at_the_failure_level() -> None:
    # falling fast, the newest samples already around the failure level
    t = np.arange(30, dtype=np.float64) * 60.0
    h = 60.0 - 1.2 * t / 60.0 + np.random.default_rng(5).normal(0, 1.0, 30)
    cfg = HealthConfig(trend_max_penalty=0.0)
    fit, (_, lo, hi) = fit_one(t, h, cfg)
    assert fit.significant[0]
    assert lo[0] == 0.0 and hi[0] > 0.0


def test_rul_is_zero_when_the_reported_health_is_at_the_failure_level() -> None:
    # the fit over the last hour still sits high (the fall is recent), the reported health is already 20
    t = np.arange(64, dtype=np.float64) * 60.0
    h = np.where(t < 50 * 60.0, 95.0 - 0.2 * t / 60.0, 85.0 - 1.5 * (t / 60.0 - 50.0))
    cfg = HealthConfig()
    t2, h2, count, now = t[None, :], h[None, :], np.array([64]), np.array([t[-1]])
    fit = fit_trend(t2, h2, count, now, cfg)
    assert fit.significant[0]
    est, lo, _ = remaining_life(t2, h2, count, now, fit, cfg)
    assert est[0] > 0.0  # from the samples alone
    est, lo, hi = remaining_life(t2, h2, count, now, fit, cfg, health_now=np.array([20.0]))
    assert est[0] == 0.0 and lo[0] == 0.0 and hi[0] >= 0.0


def accelerating_wear(rng: np.random.Generator) -> tuple[F64, F64, float]:
    """Health samples every minute: steady near 97 until wear starts, then falling as a power (1.5..3) of
    time, crossing 25 at the failure time; AR(1) noise as the score EWMAs leave it. Returns t, h, failure."""
    to_fail = rng.uniform(60, 240) * 60.0
    start = rng.uniform(0, 30) * 60.0
    power = rng.uniform(1.5, 3.0)
    rho, sd = rng.uniform(0.3, 0.8), rng.uniform(0.5, 2.5)
    t = np.arange(0.0, start + to_fail + 600.0, 60.0)
    noise = np.zeros(t.shape[0])
    for i in range(1, t.shape[0]):
        noise[i] = rho * noise[i - 1] + math.sqrt(1 - rho * rho) * rng.normal(0.0, sd)
    x = np.clip((t - start) / to_fail, 0.0, None)
    return t, 97.0 - 72.0 * x**power + noise, start + to_fail


def test_band_covers_the_true_crossing_of_accelerating_wear_at_its_stated_rate() -> None:
    """The 80% band, at 90 .. 5 minutes before the noise-free wear curve crosses the failure level, holds
    that crossing in 70-92% of the instants with a significant trend (fixed seed; ~1,800 instants, so the
    binomial sd is ~1%). The band of slope -/+ 2 standard errors held it in under 1%."""
    rng = np.random.default_rng(20261205)
    cfg = HealthConfig(trend_max_penalty=0.0)  # the pure crossing (the penalty is tested above)
    inside = instants = 0
    for _ in range(300):
        t, h, fail_t = accelerating_wear(rng)
        for minutes in (90, 60, 45, 30, 20, 10, 5):
            now = fail_t - 60.0 * minutes
            seen = t <= now
            if seen.sum() < cfg.min_samples:
                continue
            fit, (_, lo, hi) = fit_one(t[seen], h[seen], cfg)
            if not fit.significant[0]:
                continue
            instants += 1
            inside += bool(lo[0] <= fail_t - t[seen][-1] <= hi[0])
    assert instants > 1000
    assert 0.70 <= inside / instants <= 0.92
