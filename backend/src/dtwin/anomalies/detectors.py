"""Streaming per-series detectors (spike/dip, rate of change, stuck, drift, operating limits), vectorised
across every series of a batch and along the rounds of each series. Pure: state arrays in, state out.

Every recursion is a linear EWMA (see `scan.ewma_scan`), so a series gives the same scores whether its
readings arrive one per batch or many per batch, and a long single series (a backtest) is scanned in a few
numpy calls instead of a Python loop per reading."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from dtwin.anomalies.scan import F64, I8, I64, Bool, Rounds, SoA, ewma_scan, squash
from dtwin.anomalies.seasonal import SeasonalConfig, SeasonalProfiles, profiles

DETECTORS: tuple[str, ...] = (
    "none",
    "spike",
    "dip",
    "rate_of_change",
    "stuck",
    "drift",
    "limit",
    "multivariate",
    "variance",
)
NONE, SPIKE, DIP, ROC, STUCK, DRIFT, LIMIT, MULTIVARIATE, VARIANCE = range(9)

# mean absolute deviation -> standard deviation for Gaussian noise (sqrt(pi / 2))
MAD_TO_SIGMA = math.sqrt(math.pi / 2.0)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Per-sample EWMA rates and thresholds. Evidence 1.0 = a detector's threshold = score 0.5."""

    level_alpha: float = 0.4  # tracked level (the "expected" value): fast, so load wander is not a spike
    scale_alpha: float = 0.01  # mean absolute deviation around the level (~100 samples)
    diff_alpha: float = 0.02  # level and spread of the first difference
    move_alpha: float = 0.02  # share of samples that change by more than stuck_eps
    drift_fast_alpha: float = 0.01  # ~100 samples
    drift_slow_alpha: float = 0.001  # ~1,000 samples
    drift_spread_alpha: float = 0.0005  # typical |fast - slow| of this series
    warmup: int = 30  # samples before spike/dip, rate-of-change and stuck may fire
    drift_warmup: int = 2000  # ~1 / drift_spread_alpha: the typical divergence must have seen a long stretch
    spike_z: float = 5.0  # |x - level| / sigma
    roc_z: float = 5.0  # |dx - mean dx| / sigma of dx
    stuck_samples: int = 20  # consecutive unchanged samples
    stuck_eps: float = 1e-9  # relative: |dx| <= eps * (1 + |x|) counts as unchanged
    stuck_move_frac: float = 0.8  # ...while the series normally changes in >= 80% of samples
    drift_z: float = 1.0  # |fast - slow| / max(sigma, drift_spread_k * typical |fast - slow|)
    drift_spread_k: float = 3.0
    # variance change: a fast vs a slow EWMA of log |x - level| (the log makes a fall in spread as visible as
    # a rise), relative to the series' usual divergence of the two; self-scaling, so it needs no noise model
    # and a spread that changes for good becomes the new normal as the slow EWMA follows it
    var_fast_alpha: float = 0.1  # ~10 samples
    var_slow_alpha: float = 0.01  # ~100 samples, as the spread
    var_spread_alpha: float = 0.0005  # typical |fast - slow| of this series
    var_k: float = 6.0  # evidence 1 at this many typical divergences (noise alone stays below ~2.3 x)
    var_floor: float = 3.0  # log |x - level| is taken no lower than log(sigma) - this (a repeated value)
    var_warmup: int = 200  # samples before it may fire
    limit_band: float = 0.05  # evidence rises from 0 at 5% of the range inside a limit...
    limit_margin: float = 0.05  # ...to 1 at 5% of the range beyond it (a reading at its limit is not a fault)
    limit_sigmas: float = 4.0  # ...or at 4 noise sigmas beyond it, whichever is further
    min_scale_frac: float = 0.002  # sigma floor: 0.2% of the operating range
    min_scale_rel: float = 1e-6  # sigma floor without a range: 1e-6 * (1 + |level|)
    power: float = 4.0  # score = e**p / (1 + e**p)
    # common mode: a reading's spike/dip and rate-of-change evidence minus `common_weight` x the largest, and
    # its drift evidence minus that x the second largest, of the same evidence among the machine's other
    # sensors at that instant: a move is explained when another sensor moved at least half as much (in its own
    # sigmas). A load or setpoint change moves several sensors of a machine at once (the type model judges
    # whether the combination fits); a broken sensor moves one, and a slow fault that moves a pair (a worn
    # bearing: vibration and bearing temperature) stays visible to drift. Rank 0 turns it off. Computed only
    # for readings whose evidence exceeds `common_floor` (below it a reading adds little to a score).
    common_rank: int = 1
    common_rank_drift: int = 2
    common_weight: float = 2.0
    common_floor: float = 0.5
    # daily and weekly profiles for series sampled every 5 minutes or slower (seasonal.py): spike/dip,
    # rate-of-change and variance judge the reading minus the part of the profile that explains the series
    seasonal: SeasonalConfig = field(default_factory=SeasonalConfig)


@dataclass
class SeriesState(SoA):
    """Per-series state, one element per slot (structure of arrays). EWMAs are stored raw (started at 0);
    readers divide by the total weight `1 - q_*`."""

    FILL: ClassVar[dict[str, float]] = {
        "last_ts": -math.inf,
        "last_x": math.nan,
        "lo": math.nan,
        "hi": math.nan,
        "srow": -1.0,
        **{
            f"q_{k}": 1.0 for k in ("lvl", "sc", "dif", "mv", "fast", "slow", "dsp", "vf", "vs", "vsp", "dte")
        },
    }

    n: F64  # samples seen
    last_ts: F64  # epoch seconds of the last sample
    last_x: F64
    lvl: F64
    sc: F64
    dl: F64
    ds: F64
    pm: F64
    dfast: F64
    dslow: F64
    dsp: F64
    vf: F64  # variance detector: fast and slow EWMA of log |x - level|, typical |fast - slow|
    vs: F64
    vsp: F64
    run: F64  # consecutive unchanged samples
    ref: F64  # share of changing samples when the current run started
    lo: F64  # operating range (NaN: unknown)
    hi: F64
    dte: F64  # the sampling interval (EWMA of the time between samples, at most a day)
    srow: F64  # the series' row of seasonal profiles (-1: none; its gate and last adjustment are there too)
    # (1 - alpha)**count per EWMA: 1 - q is the total weight, dividing by it removes the start-at-0 bias
    q_lvl: F64
    q_sc: F64
    q_dif: F64
    q_mv: F64
    q_fast: F64
    q_slow: F64
    q_dsp: F64
    q_vf: F64
    q_vs: F64
    q_vsp: F64
    q_dte: F64

    def level(self) -> F64:
        """The tracked level (of a seasonal series: of the value minus its seasonal adjustment)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.lvl / (1.0 - self.q_lvl)

    def sigma(self) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            return MAD_TO_SIGMA * self.sc / (1.0 - self.q_sc)


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    """Per reading (in the order of `Rounds`): combined evidence and score, the detector that fired, the
    z-score against the tracked level and that level (the "expected" value) before the reading."""

    evidence: F64
    score: F64
    detector: I8
    z: F64
    expected: F64
    sigma: F64
    slow: F64  # the series' slow level including the reading (what the type model's deviations are from)
    fast: F64  # ...and its fast level (the drift detector's short EWMA, ~100 samples) including the reading
    # every detector's own evidence (readings x families: column = detector code - 1; the multivariate
    # column is 0, the type model scores rows), what the calibrated ensemble (`ensemble.py`) combines
    families: F64


@dataclass(frozen=True, slots=True)
class _Evidence:
    spike: F64  # |z| / spike_z (signed z kept separately)
    roc: F64
    stuck: F64  # before the machine gate
    drift: F64
    limit: F64
    variance: F64
    outside: Bool  # beyond the operating range
    moved_recently: Bool
    z: F64
    expected: F64
    sigma: F64
    slow: F64  # slow level (the drift detector's long EWMA) including this reading
    fast: F64  # fast level (its short EWMA) including this reading


# below this, 1 - q rounds to exactly 1.0 in float64
_EXACTLY_ONE = 2.0**-54


def _q_after(w: F64 | float, rounds: Rounds) -> F64:
    if isinstance(w, float):
        return np.zeros(rounds.n_cols)
    q = 1.0 - rounds.last(w)
    q[q <= 2.0**-52] = 0.0  # 1 - (1 - q) is only exact to ~1e-16: fully warmed is 0
    return q


def _nz(a: F64) -> F64:
    """NaN / inf -> 0."""
    return np.where(np.isfinite(a), a, 0.0)


def _grid(
    cfg: DetectorConfig, pre: SeriesState, x: F64, t: F64, rounds: Rounds, pool: SeasonalProfiles | None
) -> tuple[_Evidence, SeriesState]:
    """All detectors on one (rounds x columns) grid of values `x` at times `t`; returns per-reading evidence
    and the carried state."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _grid_inner(cfg, pre, x, t, rounds, pool)


def _seasonal(
    cfg: SeasonalConfig,
    pool: SeasonalProfiles,
    pre: SeriesState,
    t: F64,
    r: F64,
    interval: F64,
    cnt: F64,
    rounds: Rounds,
) -> F64:
    """The seasonal adjustment of every cell (0 for series without profiles); the gate's EWMAs and each
    series' last adjustment are kept in its profile row (`SeasonalProfiles.gates`). A profile counts for
    what it explains beyond the deviation's own mean: a trend puts the slow level a constant distance
    behind, which is not a season.

    A series gets a profile row at its `decide_after + 1`-th reading if its typical sampling interval over the
    readings before (`interval`, per cell) is `min_interval_s` or more, and the profiles learn from then on:
    the same reading whatever the batching, so scores stay batch-invariant and causal."""
    n_rounds, n_cols = t.shape
    srow = pre.srow.copy()
    k = float(cfg.decide_after + 1)
    at = np.clip(k - pre.n - 1.0, 0, n_rounds - 1).astype(np.int64)  # the round of reading k, if in batch
    due = (pre.n < k) & (pre.n + rounds.counts >= k)
    typical = interval[at, np.arange(n_cols)]
    want = (srow < 0) & due & (typical >= cfg.min_interval_s)
    if want.any():
        cols = np.flatnonzero(want)
        rows = pool.alloc(int(cols.shape[0]))
        srow[cols[: rows.shape[0]]] = rows
    pre.srow = srow
    adj = np.zeros((n_rounds, n_cols))
    act = np.flatnonzero(srow >= 0)
    if act.shape[0] == 0:
        return adj
    valid = rounds.valid()[:, act] & (cnt[:, act] >= k)
    ci, ri = np.nonzero(valid.T)  # learning cells, column after column, time order within
    if ci.shape[0] == 0:
        return adj
    rows = srow[act][ci].astype(np.int64)
    r_cells = _nz(r[:, act][ri, ci])
    prof = profiles(pool, cfg, rows, t[:, act][ri, ci], r_cells)
    # the gate's EWMAs over the learning cells only (a series allocated in this batch starts at reading k)
    lr, _ = Rounds.from_sorted_groups(ci)
    prow = srow[act[np.unique(ci)]].astype(np.int64)
    gs = pool.gates  # per profile row: GATE_FIELDS
    gm, gr, gd, gw = (gs[prow, i] for i in range(4))
    a = cfg.gate_alpha
    q0 = gs[prow, 4]
    w_before = 1.0 - q0[lr.col] * np.power(1.0 - a, lr.rank.astype(np.float64))

    def scanned(values: F64, raw0: F64) -> F64:
        """EWMA (gate_alpha) of the cells' values into raw0 (updated); each cell's average before it."""
        after = ewma_scan(lr.spread(values), raw0, a)
        before = lr.shift(after, raw0)
        raw0[:] = lr.last(after)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _nz(lr.gather(before) / w_before)

    mean_before = scanned(r_cells, gm)
    spreads = [
        scanned(values, raw0)
        for values, raw0 in ((np.abs(r_cells - mean_before), gr), (prof.abs_daily, gd), (prof.abs_weekly, gw))
    ]
    values = prof.adjustment(spreads[0], spreads[1], spreads[2], cfg)
    gs[prow, :4] = np.stack([gm, gr, gd, gw], axis=1)
    gs[prow, 4] = q0 * np.power(1.0 - a, lr.counts.astype(np.float64))
    gs[prow, 5] = lr.last(lr.spread(values))
    sub = np.zeros((n_rounds, act.shape[0]))
    sub[ri, ci] = values
    adj[:, act] = sub
    return adj


def _grid_inner(
    cfg: DetectorConfig, pre: SeriesState, x_raw: F64, t: F64, rounds: Rounds, pool: SeasonalProfiles | None
) -> tuple[_Evidence, SeriesState]:
    n_rounds = x_raw.shape[0]
    ridx = np.arange(n_rounds, dtype=np.float64)[:, None]
    cnt = pre.n[None, :] + ridx + 1.0  # samples including this one
    new_col = pre.n == 0
    any_new = bool(new_col.any())
    first = new_col[None, :] & (ridx == 0)  # the series' very first sample
    # (none in most batches: the masks below then leave their grids as they are, and are skipped)

    def not_first(v: F64) -> F64:
        """`v` with 0 at each series' very first sample."""
        return np.where(first, 0.0, v) if any_new else v

    sh = rounds.shift

    def weight(q_pre: F64, alpha: float, lagged: bool) -> F64 | float:
        """Total EWMA weight after each row (1 - (1 - alpha)**count); `lagged` counts from the 2nd sample.
        Exactly 1.0 once every column's start-up weight is below float resolution (the common case)."""
        if q_pre.shape[0] and float(q_pre.max()) < _EXACTLY_ONE:
            return 1.0
        q = q_pre[None, :] * np.power(1.0 - alpha, ridx + 1.0)
        if lagged and any_new:
            q = np.where(new_col[None, :], q / (1.0 - alpha), q)
        return np.subtract(1.0, q, out=q)

    def before(grid: F64, w: F64 | float, first: F64) -> F64:
        """Each cell's previous round of the average `grid / w`; round 0 gets `first` (the carried state).
        With one round (the consumer's batch) that is all: the batch's own averages are not computed."""
        if n_rounds == 1:
            return first[None, :]
        return sh(grid / w, first)

    # the seasonal profiles (series sampled every 5 min or slower): their input is the deviation from the slow
    # level (the drift detector's long EWMA). Skipped for a batch none of whose series has a profile or may
    # still get one (the sampling interval is only read up to a series' decision, so it is only kept up to
    # date until then): the 1 Hz consumer's batches pay nothing for another source's 5-minute series
    x = x_raw
    w_slow = weight(pre.q_slow, cfg.drift_slow_alpha, False)
    dslow = ewma_scan(x_raw, pre.dslow, cfg.drift_slow_alpha)
    adj: F64 | float = 0.0
    dte, q_dte = pre.dte, pre.q_dte
    sadj_prev: F64 | float = 0.0
    had = pre.srow >= 0
    if pool is not None and bool((had | (pre.n <= cfg.seasonal.decide_after)).any()):
        dt = np.where(first, 0.0, np.clip(_nz(t - sh(t, pre.last_ts)), 0.0, 86_400.0))
        w_dte = weight(pre.q_dte, cfg.seasonal.interval_alpha, True)
        dte_grid = ewma_scan(dt, pre.dte, cfg.seasonal.interval_alpha)
        dte, q_dte = rounds.last(dte_grid), _q_after(w_dte, rounds)
        slow_prev = before(dslow, w_slow, pre.dslow / (1.0 - pre.q_slow))
        interval = _nz(dte_grid / w_dte)
        if had.any():
            sadj_prev = np.where(had, pool.gates[np.maximum(pre.srow, 0).astype(np.int64), 5], 0.0)
        adj_grid = _seasonal(cfg.seasonal, pool, pre, t, x_raw - slow_prev, interval, cnt, rounds)
        if (pre.srow >= 0).any():
            adj = adj_grid
            x = x_raw - adj_grid  # what the level detectors judge

    # level and robust spread (mean absolute deviation from the previous level)
    w_lvl = weight(pre.q_lvl, cfg.level_alpha, False)
    lvl = ewma_scan(x, pre.lvl, cfg.level_alpha)
    level_prev = before(lvl, w_lvl, pre.lvl / (1.0 - pre.q_lvl))
    dev = not_first(x - level_prev)
    w_sc = weight(pre.q_sc, cfg.scale_alpha, True)
    sc = ewma_scan(np.abs(dev), pre.sc, cfg.scale_alpha)
    sigma_prev = _nz(MAD_TO_SIGMA * before(sc, w_sc, pre.sc / (1.0 - pre.q_sc)))
    width = pre.hi - pre.lo
    has_range = np.isfinite(width) & (width > 0)
    floor = np.where(
        has_range, cfg.min_scale_frac * width, cfg.min_scale_rel * (1.0 + np.abs(_nz(level_prev)))
    )
    floor = np.maximum(floor, 1e-12)
    z = _nz(dev / np.maximum(sigma_prev, floor))

    # first difference: its own level and spread
    x_prev = sh(x, pre.last_x - sadj_prev)
    dx = not_first(x - x_prev)
    w_dif = weight(pre.q_dif, cfg.diff_alpha, True)
    dl = ewma_scan(dx, pre.dl, cfg.diff_alpha)
    dlevel_prev = _nz(before(dl, w_dif, pre.dl / (1.0 - pre.q_dif)))
    dres = not_first(dx - dlevel_prev)
    ds = ewma_scan(np.abs(dres), pre.ds, cfg.diff_alpha)
    dsigma_prev = _nz(MAD_TO_SIGMA * before(ds, w_dif, pre.ds / (1.0 - pre.q_dif)))
    zr = _nz(dres / np.maximum(dsigma_prev, floor))

    # stuck: run of unchanged samples, and how often the series changed when the run started
    raw_prev = sh(x_raw, pre.last_x)
    moving = np.abs(x_raw - raw_prev) > cfg.stuck_eps * (1.0 + np.abs(_nz(raw_prev)))
    if any_new:
        moving &= ~first
    w_mv = weight(pre.q_mv, cfg.move_alpha, True)
    pm = ewma_scan(moving.astype(np.float64), pre.pm, cfg.move_alpha)
    pmove = _nz(pm / w_mv)
    flat = ~moving & ~first if any_new else ~moving
    if n_rounds == 1:
        run = np.where(flat, pre.run[None, :] + 1.0, 0.0)
        ref = np.where(flat, pre.ref[None, :], pmove)
    else:
        ridx_i = np.broadcast_to(np.arange(n_rounds)[:, None], x.shape)
        last_reset = np.maximum.accumulate(np.where(flat, -1, ridx_i), axis=0)
        cols = np.arange(x_raw.shape[1])[None, :]
        run = np.where(last_reset >= 0, ridx_i - last_reset, pre.run[None, :] + ridx + 1.0)
        ref = np.where(last_reset >= 0, pmove[np.maximum(last_reset, 0), cols], pre.ref[None, :])
    stuck_on = (run >= cfg.stuck_samples) & (ref >= cfg.stuck_move_frac) & (cnt >= cfg.warmup)
    e_stuck = np.where(stuck_on, np.minimum(run / cfg.stuck_samples, 2.0), 0.0)

    # drift: fast vs slow EWMA relative to the noise and to the series' usual divergence
    w_fast = weight(pre.q_fast, cfg.drift_fast_alpha, False)
    w_dsp = weight(pre.q_dsp, cfg.drift_spread_alpha, False)
    dfast = ewma_scan(x_raw, pre.dfast, cfg.drift_fast_alpha)
    div = dfast / w_fast - dslow / w_slow
    dsp = ewma_scan(np.abs(div), pre.dsp, cfg.drift_spread_alpha)
    spread_prev = _nz(before(dsp, w_dsp, pre.dsp / (1.0 - pre.q_dsp)))
    denom = np.maximum(np.maximum(sigma_prev, cfg.drift_spread_k * spread_prev), floor)
    e_drift = np.where(cnt >= cfg.drift_warmup, _nz(np.abs(div) / denom) / cfg.drift_z, 0.0)

    # variance change: fast vs slow mean of log |deviation|, against the series' usual divergence of the two
    logdev = np.log(np.maximum(np.abs(dev), np.maximum(sigma_prev, floor) * math.exp(-cfg.var_floor)))
    w_vf = weight(pre.q_vf, cfg.var_fast_alpha, True)
    w_vs = weight(pre.q_vs, cfg.var_slow_alpha, True)
    w_vsp = weight(pre.q_vsp, cfg.var_spread_alpha, True)
    logdev = not_first(logdev)
    vf = ewma_scan(logdev, pre.vf, cfg.var_fast_alpha)
    vs = ewma_scan(logdev, pre.vs, cfg.var_slow_alpha)
    vdiv = _nz(vf / w_vf - before(vs, w_vs, pre.vs / (1.0 - pre.q_vs)))
    vsp = ewma_scan(np.abs(vdiv), pre.vsp, cfg.var_spread_alpha)
    vspread_prev = _nz(before(vsp, w_vsp, pre.vsp / (1.0 - pre.q_vsp)))
    # a repeated value is the stuck detector's (its spread falls to nothing, which is not a change of noise)
    e_var = np.where(
        (cnt >= cfg.var_warmup) & (vspread_prev > 0) & (run < 2),
        _nz(np.abs(vdiv) / (cfg.var_k * vspread_prev)),
        0.0,
    )

    # operating limits: 0 at limit_band inside the range, 1 at limit_margin outside, growing beyond
    band = np.where(has_range, cfg.limit_band * width, np.nan)
    # the margin is at least `limit_sigmas` of the series' noise: a narrow range is not crossed by noise alone
    # (measured on the first difference: a sustained excursion does not widen it the way it widens sigma)
    margin = np.maximum(cfg.limit_margin * width, cfg.limit_sigmas * dsigma_prev / math.sqrt(2.0))
    span = np.where(has_range, cfg.limit_band * width + margin, np.nan)
    e_limit = _nz(
        np.maximum(np.maximum((x_raw - (pre.hi - band)) / span, ((pre.lo + band) - x_raw) / span), 0.0)
    )

    warm = cnt >= cfg.warmup
    g = rounds.gather
    ev = _Evidence(
        spike=g(np.where(warm, np.abs(z) / cfg.spike_z, 0.0)),
        roc=g(np.where(warm, np.abs(zr) / cfg.roc_z, 0.0)),
        stuck=g(e_stuck),
        drift=g(e_drift),
        limit=g(e_limit),
        variance=g(e_var),
        outside=g((x_raw > pre.hi) | (x_raw < pre.lo)),
        moved_recently=g(run < cfg.stuck_samples),
        z=g(z),
        expected=g(level_prev + adj),
        sigma=g(sigma_prev),
        slow=g(dslow / w_slow),
        fast=g(dfast / w_fast),
    )
    last = rounds.last
    post = SeriesState(
        n=pre.n + rounds.counts,
        last_ts=pre.last_ts,  # set by the caller
        last_x=last(x_raw),
        lvl=last(lvl),
        sc=last(sc),
        dl=last(dl),
        ds=last(ds),
        pm=last(pm),
        dfast=last(dfast),
        dslow=last(dslow),
        dsp=last(dsp),
        vf=last(vf),
        vs=last(vs),
        vsp=last(vsp),
        run=last(run),
        ref=last(ref),
        lo=pre.lo,
        hi=pre.hi,
        dte=dte,
        srow=pre.srow,
        q_lvl=_q_after(w_lvl, rounds),
        q_sc=_q_after(w_sc, rounds),
        q_dif=_q_after(w_dif, rounds),
        q_mv=_q_after(w_mv, rounds),
        q_fast=_q_after(w_fast, rounds),
        q_slow=_q_after(w_slow, rounds),
        q_dsp=_q_after(w_dsp, rounds),
        q_vf=_q_after(w_vf, rounds),
        q_vs=_q_after(w_vs, rounds),
        q_vsp=_q_after(w_vsp, rounds),
        q_dte=q_dte,
    )
    return ev, post


def _bucketed(
    cfg: DetectorConfig, pre: SeriesState, values: F64, ts: F64, rounds: Rounds, pool: SeasonalProfiles | None
) -> tuple[_Evidence, SeriesState]:
    """Runs `_grid` on groups of columns with similar counts (powers of two), so one chatty series does not
    make every column as tall as itself."""
    if rounds.n_cols == 0:  # nothing to score (an empty batch, or every reading refused or stale)
        e, no = np.zeros(0), np.zeros(0, dtype=np.bool_)
        return _Evidence(e, e, e, e, e, e, no, no, e, e, e, e, e), pre
    if rounds.n_rounds <= 2:
        return _grid(cfg, pre, rounds.spread(values), rounds.spread(ts), rounds, pool)
    cls = np.ceil(np.log2(rounds.counts)).astype(np.int64)
    if cls.min() == cls.max():
        return _grid(cfg, pre, rounds.spread(values), rounds.spread(ts), rounds, pool)
    n = values.shape[0]
    names = [f.name for f in fields(_Evidence)]
    out = {name: np.empty(n) for name in names}
    post = SeriesState.empty(rounds.n_cols)
    for c in np.unique(cls):
        cols = np.flatnonzero(cls == c)
        remap = np.full(rounds.n_cols, -1, dtype=np.int64)
        remap[cols] = np.arange(cols.shape[0])
        sel = np.flatnonzero(remap[rounds.col] >= 0)
        counts = rounds.counts[cols]
        sub = Rounds(remap[rounds.col[sel]], rounds.rank[sel], counts, int(counts.max()))
        ev, sub_post = _grid(cfg, pre.take(cols), sub.spread(values[sel]), sub.spread(ts[sel]), sub, pool)
        for name in names:
            out[name][sel] = getattr(ev, name)
        post.put(cols, sub_post)
    moved = out.pop("moved_recently") > 0.5
    outside = out.pop("outside") > 0.5
    return _Evidence(moved_recently=moved, outside=outside, **out), post


def others_kth(e: F64, key: I64, need: Bool, k: int) -> F64:
    """For each reading flagged in `need`: the k-th largest `e` among the *other* readings with the same
    `key` (0 when there are fewer than k others); 0 elsewhere. Only the groups of flagged readings are
    looked at, so it is cheap when few readings stand out.

    Taking one reading out of its group leaves the group's k-th largest value if the reading is below it,
    else the group's (k + 1)-th largest (ties included): so one descending sort per group (a dense groups x
    largest-group matrix, groups are a machine's readings of one round) answers every reading."""
    out = np.zeros(e.shape[0])
    got = _others_kth_at(e, key, need, k, int(key.max()) + 1 if key.shape[0] else 0)
    if got is not None:
        out[got[0]] = got[1]
    return out


def _common_mode(e: F64, key: I64, n_keys: int, floor: float, weight: float, k: int) -> F64:
    """`max(e - weight * others_kth(e, key, e > floor, k), 0)`, the subtraction only where `others_kth` can
    be non-zero (the groups of readings above `floor`); elsewhere it would subtract `weight * 0`, which
    leaves `e` as it is (`weight` >= 0)."""
    if weight < 0.0:  # not a sensible setting: the formula in full
        full: F64 = np.maximum(e - weight * others_kth(e, key, e > floor, k), 0.0)
        return full
    out: F64 = np.maximum(e, 0.0)
    got = _others_kth_at(e, key, e > floor, k, n_keys)
    if got is not None:
        sel, others = got
        out[sel] = np.maximum(e[sel] - weight * others, 0.0)
    return out


def _others_kth_at(e: F64, key: I64, need: Bool, k: int, n_keys: int) -> tuple[I64, F64] | None:
    """`others_kth` as the readings of the flagged groups and their values (None when none is flagged);
    `n_keys`: more than the largest key."""
    if not need.any():
        return None
    flag = np.zeros(n_keys, dtype=np.bool_)
    flag[key[need]] = True
    sel = np.flatnonzero(flag[key])
    ks = key[sel]
    if ks.shape[0] > 1 and not bool(np.all(ks[1:] >= ks[:-1])):  # a batch's readings come machine by machine
        order = np.argsort(ks, kind="stable")
        sel, ks = sel[order], ks[order]
    new = np.ones(ks.shape[0], dtype=np.bool_)
    np.not_equal(ks[1:], ks[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    grp = np.cumsum(new) - 1
    counts = np.diff(np.append(starts, ks.shape[0]))
    width = max(int(counts.max()), k + 1)
    dense = np.full((starts.shape[0], width), -np.inf)
    dense[grp, np.arange(ks.shape[0]) - starts[grp]] = e[sel]
    dense = -np.sort(-dense, axis=1)  # descending per group
    kth, next_ = dense[:, k - 1][grp], dense[:, k][grp]
    es = e[sel]
    return sel, np.where(counts[grp] > k, np.where(es < kth, kth, next_), 0.0)


def run_detectors(
    cfg: DetectorConfig,
    pre: SeriesState,
    values: F64,
    rounds: Rounds,
    reading_machine: I64,
    settling: Bool | None = None,
    ts: F64 | None = None,
    seasonal: SeasonalProfiles | None = None,
) -> tuple[DetectorOutput, SeriesState]:
    """Score one batch. `pre` holds the state of each column's series, `values` the readings in `rounds`
    order, `reading_machine` a compact machine id per reading (for the stuck gate: a sensor is stuck only
    while another sensor of the same machine in the same round still moves, so a stopped machine is not
    reported as eight stuck sensors; a machine with one sensor in the round has no such reference).
    Readings flagged in `settling` (inside a settling window after a command) keep only the limit
    detector's evidence: a commanded move is not a deviation, a reading out of its range still is.
    `ts` (epoch seconds per reading) and `seasonal` (the profile pool) enable the seasonal profiles; without
    them no series has one."""
    times = ts if ts is not None else np.zeros(values.shape[0])
    ev, post = _bucketed(cfg, pre, values, times, rounds, seasonal)
    if values.shape[0]:
        n_m = int(reading_machine.max()) + 1
        key = rounds.rank * n_m + reading_machine
        present = np.bincount(key)
        moving = np.bincount(key, weights=ev.moved_recently.astype(np.float64))
        others_present = present[key] - 1
        others_moving = moving[key] - ev.moved_recently
        gate = (others_present == 0) | (others_moving >= 1)
        stuck = np.where(gate, ev.stuck, 0.0)
        n_keys = present.shape[0]
        spike, roc, drift, variance = (
            _common_mode(e, key, n_keys, cfg.common_floor, cfg.common_weight, k) if k else e
            for e, k in (
                (ev.spike, cfg.common_rank),
                (ev.roc, cfg.common_rank),
                (ev.drift, cfg.common_rank_drift),
                (ev.variance, cfg.common_rank),
            )
        )
    else:
        stuck, spike, roc, drift, variance = ev.stuck, ev.spike, ev.roc, ev.drift, ev.variance
    if settling is not None and settling.any():
        stuck, spike, roc, drift, variance = (
            np.where(settling, 0.0, e) for e in (stuck, spike, roc, drift, variance)
        )
    # the strongest detector wins (ties: the earlier in this order)
    evidence = spike.copy()
    codes = np.where(ev.z < 0, np.int8(DIP), np.int8(SPIKE)).astype(np.int8)
    for e, code in ((roc, ROC), (stuck, STUCK), (drift, DRIFT), (variance, VARIANCE), (ev.limit, LIMIT)):
        better = e > evidence
        np.copyto(evidence, e, where=better)
        codes[better] = code
    codes[ev.outside & (evidence > 0)] = LIMIT  # outside the range: the most actionable label
    codes[evidence <= 0] = NONE
    # column-major: each family's column is written (and read by the ensemble and explanations) in one block
    families = np.zeros((evidence.shape[0], len(DETECTORS) - 1), order="F")
    up = ev.z >= 0
    np.copyto(families[:, SPIKE - 1], spike, where=up)
    np.copyto(families[:, DIP - 1], spike, where=~up)
    for code, e in (
        (ROC, roc),
        (STUCK, stuck),
        (DRIFT, drift),
        (LIMIT, ev.limit),
        (VARIANCE, variance),
    ):
        families[:, code - 1] = e
    out = DetectorOutput(
        evidence=evidence,
        score=squash(evidence, cfg.power),
        detector=codes,
        z=ev.z,
        expected=ev.expected,
        sigma=ev.sigma,
        slow=ev.slow,
        fast=ev.fast,
        families=families,
    )
    return out, post
