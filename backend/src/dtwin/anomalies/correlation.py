"""Sensor correlations per machine: a ring of the last `window` sensor vectors per machine (float32), the
correlation matrix on demand, and a long-run baseline per pair (EWMA over completed windows) to detect
correlation breaks: pairs normally strongly correlated whose recent correlation fell away. Pure numpy."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from dtwin.anomalies.scan import F32, F64, I64, Bool, Rounds


@dataclass(frozen=True, slots=True)
class CorrelationConfig:
    window: int = 100  # vectors per machine in the ring (and per baseline update)
    strong: float = 0.7  # |baseline r| at least this to watch a pair
    drop: float = 0.4  # a break: the correlation lost this much in the baseline's direction
    baseline_alpha: float = 0.2  # EWMA weight of each completed window in the baseline
    min_windows: int = 3  # windows in the baseline before breaks are reported


def window_correlation(buf: F64) -> F64:
    """Pearson correlation of every feature pair for k windows at once (`buf` k x n x F), each pair over the
    rows where both are finite; NaN where a feature does not vary or fewer than 3 rows are complete."""
    m = np.isfinite(buf)
    x = np.where(m, buf, 0.0)
    mf = m.astype(np.float64)
    cnt = np.einsum("knf,kng->kfg", mf, mf)
    with np.errstate(invalid="ignore", divide="ignore"):
        # centre per feature first (less cancellation), then pairwise-complete sums
        mean = x.sum(axis=1) / np.maximum(mf.sum(axis=1), 1.0)
        xc = np.where(m, x - mean[:, None, :], 0.0)
        sx = np.einsum("knf,kng->kfg", xc, mf)  # sum of f over rows where g is present
        sxx = np.einsum("knf,kng->kfg", xc * xc, mf)
        sxy = np.einsum("knf,kng->kfg", xc, xc)
        sy = np.swapaxes(sx, 1, 2)
        syy = np.swapaxes(sxx, 1, 2)
        cov = sxy - sx * sy / cnt
        vx = sxx - sx * sx / cnt
        vy = syy - sy * sy / cnt
        tiny = 1e-12 * (np.abs(sxx) + np.abs(syy)) + 1e-300
        r = cov / np.sqrt(vx * vy)
        r = np.where((cnt >= 3) & (vx > tiny) & (vy > tiny), np.clip(r, -1.0, 1.0), np.nan)
    return r


def find_breaks(baseline: F64, n_windows: I64, recent: F64, cfg: CorrelationConfig) -> Bool:
    """Pairs (k x F x F, upper triangle only) with an established strong baseline whose recent correlation
    moved towards zero (or past it) by at least `drop`."""
    f = baseline.shape[-1]
    upper = _upper(f)
    finite = np.isfinite(recent)
    lost = np.abs(baseline) - np.sign(baseline) * np.where(finite, recent, 0.0)  # NaN-free: no warnings
    out: Bool = (n_windows[:, None, None] >= cfg.min_windows) & (np.abs(baseline) >= cfg.strong) & finite
    out &= (lost >= cfg.drop) & upper[None, :, :]
    return out


@functools.lru_cache(maxsize=64)
def _upper(f: int) -> Bool:
    u: Bool = np.triu(np.ones((f, f), dtype=np.bool_), 1)
    u.flags.writeable = False  # shared by every caller
    return u


@dataclass
class CorrelationTracker:
    """Rings and baselines of the machines of one type (rows = the type's machine rows)."""

    n_features: int
    cfg: CorrelationConfig
    ring: F32 = field(init=False)
    count: I64 = field(init=False)
    baseline: F32 = field(init=False)
    n_windows: I64 = field(init=False)
    breaks: I64 = field(init=False)  # pairs broken at the last completed window
    last: F32 = field(init=False)  # correlation matrix of the last completed window (NaN before the first)

    def __post_init__(self) -> None:
        w, f = self.cfg.window, self.n_features
        self.ring = np.full((0, w, f), np.nan, dtype=np.float32)
        self.count = np.zeros(0, dtype=np.int64)
        self.baseline = np.zeros((0, f, f), dtype=np.float32)
        self.n_windows = np.zeros(0, dtype=np.int64)
        self.breaks = np.zeros(0, dtype=np.int64)
        self.last = np.full((0, f, f), np.nan, dtype=np.float32)

    def ensure(self, n_rows: int, n_features: int) -> None:
        cap, f_old = self.count.shape[0], self.n_features
        if n_rows <= cap and n_features <= f_old:
            return
        new = max(n_rows, 2 * cap, 16) if n_rows > cap else cap
        f = max(n_features, f_old)
        w = self.cfg.window
        ring = np.full((new, w, f), np.nan, dtype=np.float32)
        base = np.zeros((new, f, f), dtype=np.float32)
        count = np.zeros(new, dtype=np.int64)
        nwin = np.zeros(new, dtype=np.int64)
        brk = np.zeros(new, dtype=np.int64)
        last = np.full((new, f, f), np.nan, dtype=np.float32)
        last[:cap, :f_old, :f_old] = self.last
        self.last = last
        ring[:cap, :, :f_old] = self.ring
        base[:cap, :f_old, :f_old] = self.baseline
        count[:cap], nwin[:cap], brk[:cap] = self.count, self.n_windows, self.breaks
        self.ring, self.baseline, self.count, self.n_windows, self.breaks = ring, base, count, nwin, brk
        self.n_features = f

    def push(self, rows: I64, V: F64) -> None:
        """Append vectors (`rows` sorted, time order within a row). Every window of `window` vectors a machine
        completes is compared with its baseline (breaks) and then folded into it."""
        if rows.shape[0] == 0:
            return
        w, f = self.cfg.window, V.shape[1]
        rounds, starts = Rounds.from_sorted_groups(rows)
        uniq = rows[starts]
        before = self.count[uniq]
        completed = (before + rounds.counts) // w - before // w
        # machines completing several windows in one batch (long batches, backtests): window by window
        for i in np.flatnonzero(completed >= 2).tolist():
            m = int(uniq[i])
            seq = np.vstack([self.recent(m)[:, :f], V[starts[i] : starts[i] + rounds.counts[i]]])
            offset = int(before[i]) - (seq.shape[0] - int(rounds.counts[i]))  # global index of seq[0]
            ends = np.arange((int(before[i]) // w + 1) * w, int(before[i] + rounds.counts[i]) + 1, w) - offset
            windows = np.stack([seq[e - w : e] for e in ends.tolist()])
            padded = np.full((windows.shape[0], w, self.n_features), np.nan)
            padded[:, :, :f] = windows
            self._apply_sequence(m, window_correlation(padded))
        keep = rounds.rank >= (rounds.counts[rounds.col] - w)
        r = rows[keep]
        pos = (self.count[r] + rounds.rank[keep]) % w
        self.ring[r, pos, :f] = V[keep]
        self.count[uniq] += rounds.counts
        single = uniq[completed == 1]
        if single.shape[0]:
            self._apply(single, window_correlation(self.ring[single].astype(np.float64)))

    def _apply_sequence(self, row: int, recent: F64) -> None:
        """`_apply` for several consecutive windows of one machine (a cheap loop over F x F matrices)."""
        cfg = self.cfg
        base = self.baseline[row].astype(np.float64)
        nwin = int(self.n_windows[row])
        upper = np.triu(np.ones(base.shape, dtype=np.bool_), 1)
        broken = np.zeros(base.shape, dtype=np.bool_)
        with np.errstate(invalid="ignore"):
            for r in recent:
                finite = np.isfinite(r)
                broken = (
                    upper
                    & finite
                    & (nwin >= cfg.min_windows)
                    & (np.abs(base) >= cfg.strong)
                    & (np.abs(base) - np.sign(base) * r >= cfg.drop)
                )
                ok = finite & ~(broken | broken.T)
                weight = max(1.0 / (nwin + 1.0), cfg.baseline_alpha)
                base = np.where(ok, base + weight * (np.where(finite, r, 0.0) - base), base)
                nwin += 1
        self.baseline[row] = base.astype(np.float32)
        self.last[row] = recent[-1]
        self.n_windows[row] = nwin
        self.breaks[row] = int(broken.sum())

    def _apply(self, rows: I64, recent: F64) -> None:
        base = self.baseline[rows].astype(np.float64)
        nwin = self.n_windows[rows]
        broken = find_breaks(base, nwin, recent, self.cfg)
        self.breaks[rows] = broken.sum(axis=(1, 2))
        self.last[rows] = recent
        a = self.cfg.baseline_alpha
        # average the first windows equally, then EWMA; broken pairs and undefined correlations do not update
        weight = np.maximum(1.0 / (nwin + 1.0), a)[:, None, None]
        ok = np.isfinite(recent) & ~(broken | np.swapaxes(broken, 1, 2))
        self.baseline[rows] = np.where(ok, base + weight * (np.nan_to_num(recent) - base), base).astype(
            np.float32
        )
        self.n_windows[rows] = nwin + 1

    def recent(self, row: int) -> F64:
        """The vectors currently in the ring of one machine, oldest first."""
        w = self.cfg.window
        c = int(self.count[row])
        if c < w:
            return self.ring[row, :c].astype(np.float64)
        out: F64 = np.roll(self.ring[row], -(c % w), axis=0).astype(np.float64)
        return out

    @property
    def nbytes(self) -> int:
        return int(
            self.ring.nbytes
            + self.baseline.nbytes
            + self.count.nbytes
            + self.n_windows.nbytes
            + self.breaks.nbytes
        )
