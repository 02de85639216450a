"""Daily and weekly seasonality learned online (issue #22), for the detectors of the level.

A series sampled every 5 minutes or slower (`SeasonalConfig.min_interval_s`, judged at its 9th reading;
machine telemetry at 1 Hz never is: a faster series' level EWMA follows a daily cycle by itself) gets two
profiles of its deviation `r` from its slow level (the drift detector's long EWMA): a daily one of 24
hourly buckets and a weekly one of 168 that learns what the daily one leaves (`r - daily`). Each bucket is an
EWMA of the samples nearest its centre (the hour), and a profile's value at a time is interpolated between
the two centres around it, so a steep morning ramp is predicted instead of stepping once an hour.

The spike/dip, rate-of-change and variance detectors judge `x - adjustment`, where the adjustment is each
profile weighted by a gate: how much of the deviation's spread the profile explains (EWMAs of
`|r - mean r|`, `|r - daily|` and `|r - daily - weekly|`), 0 when it explains less than 10 %, 1 when it
explains 30 % or more, linear between. A series without seasonality keeps a gate of 0 and is judged
exactly as before (a trend, which puts the slow level a constant distance behind, is no season: the mean
deviation explains it).

Causal and batch-invariant like the detectors: a reading's adjustment uses only the readings before it
(`ProfileScan.before`), whether they came in the same batch or earlier ones. The profiles are held in
`SeasonalProfiles`, a pool of rows (one per seasonal series, at most `max_series`), so their memory is only
spent on series that can use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtwin.anomalies.scan import F64, I64, Rounds, ewma_scan

DAY_S, WEEK_S = 86_400.0, 604_800.0
DAY_BUCKETS, WEEK_BUCKETS = 24, 168
BUCKETS = DAY_BUCKETS + WEEK_BUCKETS  # one row: the daily buckets, then the weekly ones


@dataclass(frozen=True, slots=True)
class SeasonalConfig:
    """`alpha`: per sample, for the bucket it falls in (bias-corrected, so a young profile is the plain mean
    of what it has seen); `gate_alpha`: the spreads that decide the gate (~100 samples); the gate opens
    between `gate_off` and `gate_on` (ratio of the spread with the profile to the spread without it)."""

    min_interval_s: float = 300.0
    alpha: float = 0.05
    gate_alpha: float = 0.01
    gate_on: float = 0.7
    gate_off: float = 0.9
    interval_alpha: float = 0.1  # the series' typical sampling interval
    decide_after: int = 8  # a series' profile starts at its 9th reading, from the intervals seen so far
    max_series: int = 20_000


# per profile row, besides the buckets: the gate's EWMAs (of r, |r - mean r|, |r - daily|,
# |r - daily - weekly|; raw, started at 0), their weight not yet given, and the last adjustment made
GATE_FIELDS = ("mean", "raw", "daily", "weekly", "q", "last")
_GATE_START = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.0])


class SeasonalProfiles:
    """The pool of profile rows: `raw` (rows x BUCKETS) EWMAs started at 0, `q` their weight not yet given
    (total weight `1 - q`) and `gates` (rows x GATE_FIELDS). Rows are handed out to series that qualify and
    taken back when a series is forgotten."""

    def __init__(self, max_series: int) -> None:
        self.max_series = max_series
        self.raw = np.zeros((0, BUCKETS))
        self.q = np.ones((0, BUCKETS))
        self.gates = np.zeros((0, len(GATE_FIELDS)))
        self._free: list[int] = []
        self.in_use = 0

    def alloc(self, n: int) -> I64:
        """Up to `n` fresh rows (fewer when the pool is full)."""
        n = max(0, min(n, self.max_series - self.in_use))
        out = [self._free.pop() for _ in range(min(n, len(self._free)))]
        need = n - len(out)
        if need:
            cap = self.raw.shape[0]
            new = min(max(cap + need, 2 * cap, 16), max(self.max_series, cap + need))
            raw, q = np.zeros((new, BUCKETS)), np.ones((new, BUCKETS))
            gates = np.zeros((new, len(GATE_FIELDS)))
            raw[:cap], q[:cap], gates[:cap] = self.raw, self.q, self.gates
            self.raw, self.q, self.gates = raw, q, gates
            self._free.extend(range(new - 1, cap + need - 1, -1))
            out.extend(range(cap, cap + need))
        rows = np.array(out, dtype=np.int64)
        self.raw[rows] = 0.0
        self.q[rows] = 1.0
        self.gates[rows] = _GATE_START
        self.in_use += int(rows.shape[0])
        return rows

    def release(self, rows: I64) -> None:
        rows = np.unique(rows[rows >= 0])
        self._free.extend(rows.tolist())
        self.in_use -= int(rows.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.raw.nbytes + self.q.nbytes + self.gates.nbytes)


def _positions(ts: F64, period_s: float, buckets: int) -> tuple[I64, I64, I64, F64]:
    """Per time: the bucket it learns into (nearest centre), the two centres around it and the weight of the
    second (centres at k * period / buckets)."""
    p = np.mod(ts, period_s) * (buckets / period_s)
    learn = np.mod(np.rint(p).astype(np.int64), buckets)
    b0f = np.floor(p)
    b0 = np.mod(b0f.astype(np.int64), buckets)
    return learn, b0, np.mod(b0 + 1, buckets), p - b0f


class ProfileScan:
    """One batch of samples `v` at times `t` scanned into profile buckets `keys` (flat indices into the
    pool); `before(keys, t)` is a bucket's value from the samples strictly before `t` (NaN: none yet)."""

    def __init__(self, pool: SeasonalProfiles, keys: I64, t: F64, v: F64, alpha: float) -> None:
        self.raw_all = pool.raw.reshape(-1)
        self.q_all = pool.q.reshape(-1)
        order = np.lexsort((t, keys))
        self.ks, ts = keys[order], t[order]
        rounds, starts = Rounds.from_sorted_groups(self.ks)
        pre = self.raw_all[self.ks[starts]] if starts.shape[0] else np.zeros(0)
        qpre = self.q_all[self.ks[starts]] if starts.shape[0] else np.zeros(0)
        after = ewma_scan(rounds.spread(v[order]), pre, alpha) if starts.shape[0] else np.zeros((0, 0))
        self.after = rounds.gather(after) if starts.shape[0] else np.zeros(0)
        self.w_after = 1.0 - qpre[rounds.col] * np.power(1.0 - alpha, rounds.rank + 1.0)
        self.t0 = float(ts.min()) if ts.shape[0] else 0.0
        self.span = (float(ts.max()) - self.t0 + 1.0) if ts.shape[0] else 1.0
        self.composite = self.ks * self.span + (ts - self.t0)
        self._post = (
            self.ks[starts],
            rounds.last(after) if starts.shape[0] else np.zeros(0),
            qpre * np.power(1.0 - alpha, rounds.counts.astype(np.float64)),
        )

    def before(self, keys: I64, t: F64) -> F64:
        raw = self.raw_all[keys].copy()
        w = 1.0 - self.q_all[keys]
        if self.ks.shape[0]:
            pos = np.searchsorted(self.composite, keys * self.span + (t - self.t0), side="left")
            start = np.searchsorted(self.ks, keys, side="left")
            seen = pos > start  # samples of this bucket earlier in the batch
            idx = np.maximum(pos - 1, 0)
            raw = np.where(seen, self.after[idx], raw)
            w = np.where(seen, self.w_after[idx], w)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = np.where(w > 0.0, raw / w, np.nan)
        return out

    def store(self) -> None:
        """Write the buckets' state after the batch back into the pool."""
        keys, raw, q = self._post
        self.raw_all[keys] = raw
        self.q_all[keys] = q


def _interpolated(scan: ProfileScan, base: I64, b0: I64, b1: I64, f: F64, t: F64) -> F64:
    s0, s1 = scan.before(base + b0, t), scan.before(base + b1, t)
    both = (1.0 - f) * s0 + f * s1
    out: F64 = np.where(np.isfinite(s0) & np.isfinite(s1), both, np.where(np.isfinite(s0), s0, s1))
    return np.where(np.isfinite(out), out, np.nan)


def gate(with_profile: F64, without: F64, cfg: SeasonalConfig) -> F64:
    """0 where the profile explains too little of the spread, 1 where it explains enough, linear between."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(without > 0.0, with_profile / without, 1.0)
    g: F64 = np.clip((cfg.gate_off - ratio) / (cfg.gate_off - cfg.gate_on), 0.0, 1.0)
    return np.where(np.isfinite(g), g, 0.0)


@dataclass(frozen=True, slots=True)
class Profiles:
    """Per reading of the seasonal series: the daily and weekly profile values from the readings before it
    (0 where a profile has no value yet) and the deviations the gate spreads are made of: `|r - daily|`,
    `|r - daily - weekly|` (a profile with no value yet explains nothing)."""

    daily: F64
    weekly: F64
    abs_daily: F64
    abs_weekly: F64

    def adjustment(self, raw_s: F64, daily_s: F64, weekly_s: F64, cfg: SeasonalConfig) -> F64:
        """What the level detectors subtract, given the gate spreads before each reading."""
        g_d = gate(daily_s, raw_s, cfg)
        g_w = g_d * gate(weekly_s, daily_s, cfg)
        out: F64 = g_d * self.daily + g_w * self.weekly
        return out


def profiles(pool: SeasonalProfiles, cfg: SeasonalConfig, rows: I64, t: F64, r: F64) -> Profiles:
    """The readings (profile row, time, deviation `r` from the slow level; time order within a row) of the
    series that have a profile: both profiles' values before each reading; the profiles learn the readings."""
    base = rows * BUCKETS
    learn_d, d0, d1, fd = _positions(t, DAY_S, DAY_BUCKETS)
    daily_scan = ProfileScan(pool, base + learn_d, t, r, cfg.alpha)
    daily = _interpolated(daily_scan, base, d0, d1, fd, t)
    daily = np.where(np.isfinite(daily), daily, 0.0)
    rw = r - daily
    learn_w, w0, w1, fw = _positions(t, WEEK_S, WEEK_BUCKETS)
    wbase = base + DAY_BUCKETS
    weekly_scan = ProfileScan(pool, wbase + learn_w, t, rw, cfg.alpha)
    weekly = _interpolated(weekly_scan, wbase, w0, w1, fw, t)
    weekly = np.where(np.isfinite(weekly), weekly, 0.0)
    daily_scan.store()
    weekly_scan.store()
    return Profiles(daily, weekly, np.abs(rw), np.abs(rw - weekly))
