"""Machine health in [0, 100] and remaining useful life. Health = 100 * (1 - max(fast, slow) EWMA of the
machine's anomaly score) minus a trend penalty; the trend is a weighted linear regression over a ring of
periodic health samples. RUL is the time until the reported health reaches `fail_health`, extrapolated with a
linear and an accelerating (quadratic) trend; its band is where their prediction intervals reach it
(`remaining_life`). Pure numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dtwin.anomalies.scan import F32, F64, I64, Bool, Rounds, grown, room


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
    fail_health: float = 25.0  # RUL = time until the reported health reaches this
    band_level: float = 0.8  # RUL band: central prediction interval of this probability
    curvature_t: float = 2.0  # an accelerating trend gives the estimate when its curvature has this t-stat
    rul_horizon_days: float = 14.0  # extrapolated no further: a later crossing is reported as unbounded
    recent_samples: int = 4  # the band's lower end also assumes a clear fall of this many newest samples...
    recent_t: float = 4.0  # ...goes on (clear: the slope's t-stat is <= -recent_t)
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
        new = room(n_machines, self.count.shape[0])
        if new is None:
            return
        self.t, self.h = grown(self.t, new, 0.0), grown(self.h, new, 0.0)
        self.count = grown(self.count, new, 0)

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


def remaining_life(
    t: F64,
    h: F64,
    count: I64,
    now: F64,
    fit: TrendFit,
    cfg: HealthConfig,
    health_now: F64 | None = None,
) -> tuple[F64, F64, F64]:
    """(estimate, lower, upper) seconds until the reported health (the trend minus today's trend penalty)
    reaches `fail_health`, for the machines of `fit` with a significant trend (NaN for the others); upper is
    inf when even the optimistic bound stays above it within `rul_horizon_days`. `t`/`h`/`count` are the
    machines' health rings (k x window), as `fit_trend` took them.

    Two weighted regressions of the samples (the weights of `fit_trend`): a line, and a parabola whose
    curvature may only accelerate the decline (wear does; a decelerating fit falls back to the line). The
    estimate is the line's crossing, or the parabola's when its curvature is significant. The band runs from
    the earliest crossing of the lower `band_level` prediction bound (the fit's uncertainty plus the samples'
    scatter) to the latest crossing of the upper one, over both models, so it widens with few or scattered
    samples, a short history, a far extrapolation and an uncertain curvature. Residuals of health samples are
    autocorrelated (they come from EWMAs): the covariances are inflated by (1 + rho) / (1 - rho) of the lag-1
    autocorrelation and the degrees of freedom shrunk to match. A fit over an hour lags a sudden fall, so the
    lower bound starts from the newest sample when that is below the fit, and the band's lower end is at
    most the time a clear fall of the `recent_samples` newest samples, if it went on, takes to the failure
    level.
    A band never excludes now when the health already is, or may within its scatter be, at the failure
    level, and the estimate is 0 when the reported health (`health_now`, if given) is at or below it. When
    the health now has fallen out of the line's prediction band (a collapse faster than the samples show),
    the lower end is at most when that fall, at its pace since the newest sample, reaches the failure
    level."""
    k = t.shape[0]
    est, lo, hi = np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan)
    sel = np.flatnonzero(fit.significant)
    if sel.shape[0] == 0:
        return est, lo, hi
    w_len = t.shape[1]
    valid = np.arange(w_len)[None, :] < np.minimum(count[sel], w_len)[:, None]
    tau = np.where(valid, (t[sel] - now[sel, None]) / 3600.0, 0.0)  # hours before now (<= 0)
    half_life_h = cfg.half_life_samples * cfg.sample_every_s / 3600.0
    w = np.where(valid, np.power(0.5, -tau / half_life_h), 0.0)
    hs = np.where(valid, h[sel], 0.0)
    target = cfg.fail_health + trend_penalty(fit, cfg)[sel]
    grid = np.concatenate([[0.0], np.geomspace(1.0 / 60.0, cfg.rul_horizon_days * 24.0, 192)])
    z = _z_two_sided(cfg.band_level)
    line = _wls(tau, hs, w, valid, 2)
    parab = _wls(tau, hs, w, valid, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        curv_t = np.nan_to_num(parab[0][:, 2] / np.sqrt(np.maximum(parab[1][:, 2, 2], 0.0)))
    # a decelerating parabola is replaced by the line (wear does not decelerate)
    acc = parab[0][:, 2] < 0
    parab = (
        np.where(acc[:, None], parab[0], np.pad(line[0], ((0, 0), (0, 1)))),
        np.where(acc[:, None, None], parab[1], np.pad(line[1], ((0, 0), (0, 1), (0, 1)))),
        np.where(acc, parab[2], line[2]),
        np.where(acc, parab[3], line[3]),
    )
    newest = np.take_along_axis(hs, np.argmax(np.where(valid, tau, -np.inf), axis=1)[:, None], axis=1)[:, 0]
    lin, lin_lo, lin_hi = _crossings(grid, line, z, target, newest)
    quad, quad_lo, quad_hi = _crossings(grid, parab, z, target, newest)
    e = np.where(curv_t <= -cfg.curvature_t, quad, lin)
    lower = np.minimum(lin_lo, quad_lo)
    upper = np.maximum(lin_hi, quad_hi)
    lower = np.minimum(lower, _recent_fall(tau, hs, valid, newest, target, cfg))
    lower = np.where(newest <= target, 0.0, lower)  # already at the failure level: it may be now
    if health_now is not None:
        failed = health_now[sel] <= cfg.fail_health
        e = np.where(failed, 0.0, e)
        # the health now (before its penalty) below the line's lower bound: a fall faster than any trend
        # of the samples is under way; the lower end is when it reaches failure if it goes on at its pace
        # since the newest sample
        beta, cov, s2, df = line
        lb0 = beta[:, 0] - _t_quantile(z, df) * np.sqrt(np.maximum(cov[:, 0, 0] + s2, 0.0))
        unpenalised = health_now[sel] + (target - cfg.fail_health)
        since_h = np.maximum(-tau.max(axis=1, initial=-np.inf, where=valid), 1.0 / 3600.0)
        pace = (newest - unpenalised) / since_h  # points per hour, > 0 while falling
        with np.errstate(divide="ignore", invalid="ignore"):
            fall = np.where(pace > 0, (health_now[sel] - cfg.fail_health) / pace, np.inf)
        lower = np.where(unpenalised < lb0, np.minimum(lower, np.maximum(fall, 0.0)), lower)
        lower = np.where(failed, 0.0, lower)
    est[sel] = 3600.0 * e
    lo[sel] = 3600.0 * np.minimum(lower, e)
    hi[sel] = 3600.0 * np.maximum(upper, e)
    return est, lo, hi


def _wls(tau: F64, h: F64, w: F64, valid: Bool, p: int) -> tuple[F64, F64, F64, F64]:
    """Weighted least squares of h on (1, tau, ..., tau^(p-1)) per row: coefficients (k, p), their
    covariance (k, p, p: sandwich form, inflated for lag-1 autocorrelation of the residuals), the residual
    variance (k,) and the effective degrees of freedom (k,)."""
    X = np.stack([np.where(valid, tau**j, 0.0) for j in range(p)], axis=-1)  # (k, w, p)
    Xw = X * w[..., None]
    A = np.einsum("kwp,kwq->kpq", Xw, X) + 1e-9 * np.eye(p)
    A_inv = np.linalg.inv(A)
    beta = np.einsum("kpq,kq->kp", A_inv, np.einsum("kwp,kw->kp", Xw, h))
    resid = np.where(valid, h - np.einsum("kwp,kp->kw", X, beta), 0.0)
    sw = w.sum(axis=1)
    n_eff = sw * sw / np.maximum((w * w).sum(axis=1), 1e-300)
    s2 = (w * resid * resid).sum(axis=1) / sw * n_eff / np.maximum(n_eff - p, 1.0)
    B = np.einsum("kwp,kwq->kpq", Xw * w[..., None], X)
    cov = s2[:, None, None] * (A_inv @ B @ A_inv)
    # samples sit in the ring in time order modulo the window: sort by time for the lag-1 autocorrelation
    order = np.argsort(np.where(valid, tau, np.inf), axis=1)
    r = np.take_along_axis(resid, order, axis=1)
    both = np.take_along_axis(valid, order, axis=1)
    both = both[:, 1:] & both[:, :-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.nan_to_num((r[:, 1:] * r[:, :-1] * both).sum(axis=1) / (r * r).sum(axis=1))
    rho = np.clip(rho, 0.0, 0.9)
    inflate = (1.0 + rho) / (1.0 - rho)
    df = np.maximum(n_eff / inflate - p, 1.0)
    return beta, cov * inflate[:, None, None], s2, df


def _recent_fall(tau: F64, h: F64, valid: Bool, newest: F64, target: F64, cfg: HealthConfig) -> F64:
    """Hours until `target` if the newest health falls on at the slope of the `recent_samples` newest
    samples (a line through them, unweighted); inf where they show no clear fall (t-stat > -recent_t: noise
    on a slow trend is not a collapse)."""
    n = cfg.recent_samples
    order = np.argsort(np.where(valid, tau, -np.inf), axis=1)[:, -n:]  # the n newest, oldest first
    x = np.take_along_axis(tau, order, axis=1)
    y = np.take_along_axis(h, order, axis=1)
    dx = x - x.mean(axis=1, keepdims=True)
    dy = y - y.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        sxx = (dx * dx).sum(axis=1)
        slope = (dx * dy).sum(axis=1) / sxx
        resid = dy - slope[:, None] * dx
        se = np.sqrt((resid * resid).sum(axis=1) / max(n - 2, 1) / sxx)
        tstat = np.where(se > 0, slope / se, -np.inf)
        hours = np.maximum(newest - target, 0.0) / -slope
    clear = np.isfinite(slope) & (slope < 0) & (tstat <= -cfg.recent_t)
    out: F64 = np.where(clear, hours, np.inf)
    return out


def _crossings(
    grid: F64, fit: tuple[F64, F64, F64, F64], z: float, target: F64, newest: F64
) -> tuple[F64, F64, F64]:
    """Crossing times (hours) of `target` by a fit's curve and by its lower and upper prediction bounds;
    the lower bound is lowered by how far the newest sample is below the fit now."""
    beta, cov, s2, df = fit
    G = np.stack([grid**j for j in range(beta.shape[1])], axis=1)  # (g, p)
    mean = beta @ G.T  # (k, g)
    var = np.einsum("gp,kpq,gq->kg", G, cov, G) + s2[:, None]
    q = _t_quantile(z, df)[:, None] * np.sqrt(np.maximum(var, 0.0))
    below = np.minimum(newest - mean[:, 0], 0.0)[:, None]
    return (
        _first_crossing(grid, mean, target),
        _first_crossing(grid, mean - q + below, target),
        _first_crossing(grid, mean + q, target),
    )


def _first_crossing(grid: F64, curve: F64, target: F64) -> F64:
    """Per row: the first grid time at which `curve` (k, g) is at or below `target` (k,), interpolated
    linearly between grid points; 0 if it already is, inf if it never is on the grid."""
    below = curve <= target[:, None]
    j = np.argmax(below, axis=1)
    never = ~below.any(axis=1)
    jm = np.maximum(j - 1, 0)
    rows = np.arange(curve.shape[0])
    c0, c1 = curve[rows, jm], curve[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip(np.nan_to_num((c0 - target) / (c0 - c1)), 0.0, 1.0)
    out: F64 = np.where(j == 0, 0.0, grid[jm] + frac * (grid[j] - grid[jm]))
    return np.where(never, np.inf, out)


def _z_two_sided(level: float) -> float:
    """The standard normal quantile of a central interval of probability `level`."""
    return float(math.sqrt(2.0) * _erfinv(level))


def _erfinv(y: float) -> float:
    # Newton on erf (a handful of steps from a good start; called once per refit)
    x = 0.0 if y == 0 else math.copysign(math.sqrt(-math.log((1.0 - abs(y)) / 2.0)), y) * 0.8
    for _ in range(50):
        err = math.erf(x) - y
        x -= err / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
        if abs(err) < 1e-13:
            break
    return x


def _t_quantile(z: float, df: F64) -> F64:
    """Student's t quantile matching the normal quantile `z` for `df` degrees of freedom (Cornish-Fisher
    expansion: within 1% for df >= 3, and conservative below)."""
    d = np.maximum(df, 1.0)
    out: F64 = z + (z**3 + z) / (4.0 * d) + (5 * z**5 + 16 * z**3 + 3 * z) / (96.0 * d * d)
    return out


def trend_penalty(fit: TrendFit, cfg: HealthConfig) -> F64:
    return np.where(
        fit.significant, np.clip(-fit.slope * cfg.trend_horizon_s, 0.0, cfg.trend_max_penalty), 0.0
    )
