"""Machine health in [0, 100] and remaining useful life. Health = 100 * (1 - max(fast, slow) EWMA of the
machine's anomaly score) minus a trend penalty; the trend is a weighted linear regression over a ring of
periodic health samples, and RUL extrapolates it to `fail_health` with a band from the slope's standard
error. Pure numpy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtwin.anomalies.scan import F32, F64, I64, Bool, Rounds


@dataclass(frozen=True, slots=True)
class HealthConfig:
    score_alpha: float = 0.05  # EWMA of the machine's per-row anomaly score...
    slow_alpha: float = 0.005  # ...and a slow one; health uses the larger (recovers over ~200 rows)
    sample_every_s: float = 60.0  # one health sample per machine per this much stream time
    window: int = 64  # health samples kept per machine (64 min at the default cadence)
    half_life_samples: float = 24.0  # regression weights halve every this many sample periods back
    min_samples: int = 12  # samples before a trend may be reported
    t_crit: float = 3.0  # slope / standard error must be <= -t_crit
    min_drop: float = 5.0  # ...and the trend must lose this many points over the window's span...
    trend_below: float = 90.0  # ...and the fitted health must already be below this (no RUL for wobbles)
    fail_health: float = 25.0  # RUL = time until the trend reaches this health
    band_se: float = 2.0  # RUL band: slope -/+ band_se standard errors
    trend_horizon_s: float = 3600.0  # penalty = health the trend loses over this horizon...
    trend_max_penalty: float = 20.0  # ...capped


def health_index(score_ewma: F64, penalty: F64) -> F64:
    return np.clip(100.0 * (1.0 - score_ewma) - penalty, 0.0, 100.0)


@dataclass
class HealthRing:
    """The last `window` health samples of every machine (time in epoch seconds, health as float32)."""

    window: int
    t: F64 = field(init=False)
    h: F32 = field(init=False)
    count: I64 = field(init=False)

    def __post_init__(self) -> None:
        self.t = np.zeros((0, self.window))
        self.h = np.zeros((0, self.window), dtype=np.float32)
        self.count = np.zeros(0, dtype=np.int64)

    def grow(self, n_machines: int) -> None:
        cap = self.count.shape[0]
        if n_machines <= cap:
            return
        new = max(n_machines, 2 * cap, 64)
        t = np.zeros((new, self.window))
        h = np.zeros((new, self.window), dtype=np.float32)
        c = np.zeros(new, dtype=np.int64)
        t[:cap], h[:cap], c[:cap] = self.t, self.h, self.count
        self.t, self.h, self.count = t, h, c

    def take(self, machines: I64) -> None:
        """Keep only these machines' rings, renumbered 0.. in the given order (after the engine compacted)."""
        self.t, self.h, self.count = self.t[machines], self.h[machines], self.count[machines]

    def push(self, machines: I64, t: F64, h: F64) -> I64:
        """Append samples; `machines` sorted (time order within a machine). Returns the machines touched."""
        if machines.shape[0] == 0:
            return machines
        rounds, starts = Rounds.from_sorted_groups(machines)
        uniq = machines[starts]
        keep = rounds.rank >= (rounds.counts[rounds.col] - self.window)  # only the newest `window` survive
        m = machines[keep]
        pos = (self.count[m] + rounds.rank[keep]) % self.window
        self.t[m, pos] = t[keep]
        self.h[m, pos] = h[keep]
        self.count[uniq] += rounds.counts
        return uniq

    @property
    def nbytes(self) -> int:
        return int(self.t.nbytes + self.h.nbytes + self.count.nbytes)


@dataclass(frozen=True, slots=True)
class TrendFit:
    slope: F64  # health points per second
    level: F64  # fitted health at `now`
    se: F64  # standard error of the slope
    significant: Bool


def fit_trend(t: F64, h: F64, count: I64, now: F64, cfg: HealthConfig) -> TrendFit:
    """Weighted least squares of health on time for k machines at once (rows of `t`/`h`, k x window);
    weights halve every `half_life_samples` periods back from `now`."""
    w_len = t.shape[1]
    valid = np.arange(w_len)[None, :] < np.minimum(count, w_len)[:, None]
    tr = np.where(valid, t - now[:, None], 0.0)
    half_life = cfg.half_life_samples * cfg.sample_every_s
    w = np.where(valid, np.power(0.5, -tr / half_life), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = w.sum(axis=1)
        tb = (w * tr).sum(axis=1) / sw
        hb = (w * h).sum(axis=1) / sw
        dt = np.where(valid, tr - tb[:, None], 0.0)
        sxx = (w * dt * dt).sum(axis=1)
        slope = (w * dt * (h - hb[:, None])).sum(axis=1) / sxx
        resid = np.where(valid, h - hb[:, None] - slope[:, None] * dt, 0.0)
        sw2 = (w * w).sum(axis=1)
        n_eff = sw * sw / sw2
        s2 = (w * resid * resid).sum(axis=1) / sw * n_eff / (n_eff - 2.0)
        se = np.sqrt(np.maximum(s2, 0.0) * (w * w * dt * dt).sum(axis=1)) / sxx
        tstat = np.where(se > 0, slope / se, np.where(slope < 0, -np.inf, 0.0))
        span = -np.where(valid, tr, 0.0).min(axis=1)
        level = hb - slope * tb
    n = np.minimum(count, w_len)
    significant = (
        (n >= cfg.min_samples)
        & np.isfinite(slope)
        & (slope < 0)
        & (tstat <= -cfg.t_crit)
        & (-slope * span >= cfg.min_drop)
        & (level < cfg.trend_below)
    )
    enough = n >= cfg.min_samples
    return TrendFit(
        np.where(enough, np.nan_to_num(slope), 0.0),
        np.nan_to_num(level, nan=100.0),
        np.where(enough, np.nan_to_num(se), 0.0),
        significant,
    )


def remaining_life(fit: TrendFit, cfg: HealthConfig) -> tuple[F64, F64, F64]:
    """(estimate, lower, upper) seconds until the trend reaches `fail_health`; NaN without a significant
    trend."""
    remaining = np.maximum(fit.level - cfg.fail_health, 0.0)
    steep = fit.slope - cfg.band_se * fit.se  # more negative: sooner
    shallow = fit.slope + cfg.band_se * fit.se
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(fit.significant, remaining / -fit.slope, np.nan)
        lo = np.where(fit.significant, remaining / -steep, np.nan)
        hi = np.where(
            fit.significant & (shallow < 0), remaining / -shallow, np.where(fit.significant, np.inf, np.nan)
        )
    return est, lo, hi


def trend_penalty(fit: TrendFit, cfg: HealthConfig) -> F64:
    return np.where(
        fit.significant, np.clip(-fit.slope * cfg.trend_horizon_s, 0.0, cfg.trend_max_penalty), 0.0
    )
