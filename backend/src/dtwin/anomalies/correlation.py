"""Sensor correlations per machine: a ring of the last `window` sensor vectors per machine (float32), the
correlation matrix on demand, and a long-run baseline per pair (EWMA over completed windows) to detect
correlation breaks: pairs normally strongly correlated whose recent correlation fell away. `CorrelationRings`
holds the fleet's trackers, one per machine type, for the scoring engine. Pure numpy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import orjson

from dtwin.anomalies.decisions import JsonValue
from dtwin.anomalies.index import Remap, SeriesIndex
from dtwin.anomalies.results import CorrelationBreak, CorrelationReport
from dtwin.anomalies.scan import F32, F64, I64, Bool, Rounds
from dtwin.kit.spread import phase


@dataclass(frozen=True, slots=True)
class CorrelationConfig:
    window: int = 100  # vectors per machine in the ring (and per baseline update)
    strong: float = 0.7  # |baseline r| at least this to watch a pair
    drop: float = 0.4  # a break: the correlation lost this much in the baseline's direction
    baseline_alpha: float = 0.2  # EWMA weight of each completed window in the baseline
    min_windows: int = 3  # windows in the baseline before breaks are reported
    # a window judges a pair only when both sensors moved in it: window std >= this x the sensor's typical
    # window std (a machine held at a steady operating point shows noise, which correlates with nothing)
    min_spread: float = 0.5
    # correlations are tracked for a type's first `max_features` sensors only (in the order first seen): a
    # machine row costs window x F + ~9 F^2 bytes, 8.8 KB at 16, 195 KB at 128 sensors
    max_features: int = 16


def window_correlation(buf: F64) -> F64:
    """Pearson correlation of every feature pair for k windows at once (`buf` k x n x F), each pair over the
    rows where both are finite; NaN where a feature does not vary or fewer than 3 rows are complete."""
    m = np.isfinite(buf)
    x = np.where(m, buf, 0.0)
    mf = m.astype(np.float64)
    # the pairwise sums as batched matrix products (BLAS; ~13x numpy's einsum loops for these shapes)
    cnt = np.matmul(np.swapaxes(mf, 1, 2), mf)
    with np.errstate(invalid="ignore", divide="ignore"):
        # centre per feature first (less cancellation), then pairwise-complete sums
        mean = x.sum(axis=1) / np.maximum(mf.sum(axis=1), 1.0)
        xc = np.where(m, x - mean[:, None, :], 0.0)
        xct = np.swapaxes(xc, 1, 2)
        sx = np.matmul(xct, mf)  # sum of f over rows where g is present
        sxx = np.matmul(np.swapaxes(xc * xc, 1, 2), mf)
        sxy = np.matmul(xct, xc)
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


def _window_std(win: F64) -> F64:
    """Per window and sensor, the std of the finite values (NaN with fewer than 3)."""
    m = np.isfinite(win)
    n = m.sum(axis=1)
    x = np.where(m, win, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / n
        var = (np.where(m, win - mean[:, None, :], 0.0) ** 2).sum(axis=1) / n
    out: F64 = np.where(n >= 3, np.sqrt(var), np.nan)
    return out


@functools.lru_cache(maxsize=64)
def _upper(f: int) -> Bool:
    u: Bool = np.triu(np.ones((f, f), dtype=np.bool_), 1)
    u.flags.writeable = False  # shared by every caller
    return u


def phase_of(machine_id: str, window: int) -> int:
    """A machine's windows end at `window` + phase, 2 `window` + phase, ... of its vectors, the phase (0 to
    window - 1) from its id: machines that appeared together complete their windows spread over a window's
    length rather than all in one batch every `window` vectors, and a machine that comes back (or moves to
    another row when the engine compacts) keeps its phase."""
    return min(int(phase(machine_id) * window), window - 1)


def _fold(
    cfg: CorrelationConfig, baseline: F32, spread: F32, nwin: I64, recent: F64, std: F64
) -> tuple[Bool, F32, F32]:
    """One completed window per machine (leading axis): its broken pairs against the baseline (kept as
    float32), and the baseline and spread with it folded in: the first windows equally, then EWMA. Broken
    pairs, undefined correlations and pairs whose sensors did not move in the window leave the baseline as
    it was."""
    base = baseline.astype(np.float64)
    sp = spread.astype(np.float64)
    moved = (nwin[:, None] == 0) | ~(std < cfg.min_spread * sp)  # NaN std: judged by `recent`
    judged = moved[:, :, None] & moved[:, None, :]
    broken = find_breaks(base, nwin, recent, cfg) & judged
    weight = np.maximum(1.0 / (nwin + 1.0), cfg.baseline_alpha)
    ok = np.isfinite(recent) & judged & ~(broken | np.swapaxes(broken, 1, 2))
    base = np.where(ok, base + weight[:, None, None] * (np.nan_to_num(recent) - base), base)
    sp = np.where(np.isfinite(std), sp + weight[:, None] * (np.nan_to_num(std) - sp), sp)
    return broken, base.astype(np.float32), sp.astype(np.float32)


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
    broken: Bool = field(init=False)  # pairs broken at the last completed window
    spread: F32 = field(init=False)  # typical window std per sensor (EWMA over windows, like the baseline)
    # vectors beyond whole windows at which the row's windows end (`phase_of`; -1: not set yet)
    phase: I64 = field(init=False)

    def __post_init__(self) -> None:
        w, f = self.cfg.window, self.n_features
        self.ring = np.full((0, w, f), np.nan, dtype=np.float32)
        self.count = np.zeros(0, dtype=np.int64)
        self.baseline = np.zeros((0, f, f), dtype=np.float32)
        self.n_windows = np.zeros(0, dtype=np.int64)
        self.breaks = np.zeros(0, dtype=np.int64)
        self.last = np.full((0, f, f), np.nan, dtype=np.float32)
        self.broken = np.zeros((0, f, f), dtype=np.bool_)
        self.spread = np.zeros((0, f), dtype=np.float32)
        self.phase = np.zeros(0, dtype=np.int64)

    def ensure(self, n_rows: int, n_features: int) -> None:
        cap, f_old = self.count.shape[0], self.n_features
        if n_rows <= cap and n_features <= f_old:
            return
        new = max(n_rows, 2 * cap) if n_rows > cap else cap
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
        broken = np.zeros((new, f, f), dtype=np.bool_)
        broken[:cap, :f_old, :f_old] = self.broken
        spread = np.zeros((new, f), dtype=np.float32)
        spread[:cap, :f_old] = self.spread
        self.broken, self.spread = broken, spread
        ring[:cap, :, :f_old] = self.ring
        base[:cap, :f_old, :f_old] = self.baseline
        count[:cap], nwin[:cap], brk[:cap] = self.count, self.n_windows, self.breaks
        self.ring, self.baseline, self.count, self.n_windows, self.breaks = ring, base, count, nwin, brk
        phase = np.full(new, -1, dtype=np.int64)
        phase[:cap] = self.phase
        self.phase = phase
        self.n_features = f

    def take(self, rows: I64) -> None:
        """Keep only these machine rows, renumbered 0.. in the given order (after the engine compacted)."""
        self.ring, self.count, self.baseline = self.ring[rows], self.count[rows], self.baseline[rows]
        self.n_windows, self.breaks, self.last = self.n_windows[rows], self.breaks[rows], self.last[rows]
        self.broken, self.spread, self.phase = self.broken[rows], self.spread[rows], self.phase[rows]

    def push(self, rows: I64, V: F64, ids_of: Callable[[list[int]], list[str]] | None = None) -> None:
        """Append vectors (`rows` sorted, time order within a row). Every window of `window` vectors a machine
        completes is compared with its baseline (breaks) and then folded into it. `ids_of(rows)`: the machine
        ids of rows, for the phase of a row seen for the first time (`phase_of`; without it, 0)."""
        if rows.shape[0] == 0:
            return
        w, f = self.cfg.window, V.shape[1]
        rounds, starts = Rounds.from_sorted_groups(rows)
        uniq = rows[starts]
        before = self.count[uniq]
        phase = self.phase[uniq]
        if (phase < 0).any():
            new = uniq[phase < 0]
            ids = ids_of(new.tolist()) if ids_of is not None else None
            self.phase[new] = [phase_of(i, w) for i in ids] if ids is not None else 0
            phase = self.phase[uniq]
        completed = np.maximum((before + rounds.counts - phase) // w, 0) - np.maximum(
            (before - phase) // w, 0
        )
        # a window that ends at the batch's last vector of the machine is its ring once the batch is in (the
        # live case: one vector per batch); others (several vectors per batch: backtests, catch-up) are cut
        # from the ring before the batch and the batch's vectors, window by window, so a machine's windows
        # do not depend on how its vectors were batched
        at_end = (before + rounds.counts - phase) % w == 0
        for i in np.flatnonzero((completed >= 2) | ((completed == 1) & ~at_end)).tolist():
            m = int(uniq[i])
            mine = V[starts[i] : starts[i] + rounds.counts[i]].astype(np.float32)  # as the ring keeps them
            seq = np.vstack([self.recent(m)[:, :f], mine])
            offset = int(before[i]) - (seq.shape[0] - int(rounds.counts[i]))  # global index of seq[0]
            ph = int(phase[i])
            first = max(1, (int(before[i]) - ph) // w + 1) * w + ph  # the first window end after `before`
            ends = np.arange(first, int(before[i] + rounds.counts[i]) + 1, w) - offset
            windows = np.stack([seq[e - w : e] for e in ends.tolist()])
            padded = np.full((windows.shape[0], w, self.n_features), np.nan)
            padded[:, :, :f] = windows
            self._apply_sequence(m, window_correlation(padded), _window_std(padded))
        keep = rounds.rank >= (rounds.counts[rounds.col] - w)
        r = rows[keep]
        pos = (self.count[r] + rounds.rank[keep]) % w
        self.ring[r, pos, :f] = V[keep]
        self.count[uniq] += rounds.counts
        single = uniq[(completed == 1) & at_end]
        if single.shape[0]:
            win = self.ring[single].astype(np.float64)
            self._apply(single, window_correlation(win), _window_std(win))

    def _apply_sequence(self, row: int, recent: F64, std: F64) -> None:
        """`_apply` for several consecutive windows of one machine (`recent` k x F x F, `std` k x F): window
        by window (a window's breaks depend on the baseline the one before left), on the machine's own
        arrays instead of gathering and scattering the tracker's for each window."""
        base, spread = self.baseline[row : row + 1], self.spread[row : row + 1]
        nwin = self.n_windows[row : row + 1]
        broken = np.zeros(base.shape, dtype=np.bool_)
        for i in range(recent.shape[0]):
            broken, base, spread = _fold(self.cfg, base, spread, nwin, recent[i : i + 1], std[i : i + 1])
            nwin = nwin + 1
        self.breaks[row] = broken.sum()
        self.broken[row] = broken[0]
        self.last[row] = recent[-1]
        self.baseline[row], self.spread[row], self.n_windows[row] = base[0], spread[0], nwin[0]

    def _apply(self, rows: I64, recent: F64, std: F64) -> None:
        """Compare each machine's completed window (`recent` k x F x F, per-sensor `std` k x F) with its
        baseline, then fold it in (`_fold`)."""
        nwin = self.n_windows[rows]
        broken, base, spread = _fold(self.cfg, self.baseline[rows], self.spread[rows], nwin, recent, std)
        self.breaks[rows] = broken.sum(axis=(1, 2))
        self.broken[rows] = broken
        self.last[rows] = recent
        self.baseline[rows], self.spread[rows], self.n_windows[rows] = base, spread, nwin + 1

    def so_far(self, rows: I64) -> F64:
        """Correlation matrices (k x F x F) of the vectors the rings of `rows` hold, for machines without a
        completed window (the ring's unused slots are NaN and left out)."""
        return window_correlation(self.ring[rows].astype(np.float64))

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
            + self.last.nbytes
            + self.broken.nbytes
            + self.spread.nbytes
        )


class CorrelationRings:
    """One `CorrelationTracker` per machine type (by type index), watching the type's first
    `max_features` sensors."""

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config
        self.trackers: dict[int, CorrelationTracker] = {}

    def push(
        self,
        ti: int,
        n_machines: int,
        trow: I64,
        V: F64,
        ids_of: Callable[[list[int]], list[str]] | None = None,
    ) -> None:
        """Append a type's vectors (rows x its features) to its machines' rings (`trow`: their table rows;
        `ids_of(rows)`: their machine ids, for the phase of a row's windows)."""
        f = V.shape[1]
        fc = min(f, self.config.max_features)
        tracker = self.trackers.get(ti)
        if tracker is None:
            tracker = self.trackers[ti] = CorrelationTracker(fc, self.config)
        tracker.ensure(n_machines, fc)
        tracker.push(trow, V[:, :fc] if fc < f else V, ids_of)

    def breaks(self, index: SeriesIndex, ms: I64) -> I64:
        """Pairs broken at each machine's last completed window (one pass per type present)."""
        return self._per_machine(index, ms, "breaks")

    def windows(self, index: SeriesIndex, ms: I64) -> I64:
        """Windows completed so far by each machine (0 for a type not tracked yet): a machine's report
        changes when this does (before its first window, with every vector)."""
        return self._per_machine(index, ms, "n_windows")

    def _per_machine(self, index: SeriesIndex, ms: I64, column: Literal["breaks", "n_windows"]) -> I64:
        """A per-row count of the trackers for each machine of `ms` (0 where its type or row is untracked)."""
        out = np.zeros(ms.shape[0], dtype=np.int64)
        types = index.machine_type[ms]
        for ti in np.unique(types).tolist():
            tracker = self.trackers.get(ti)
            if tracker is not None:
                mine = types == ti
                rows = index.machine_trow[ms[mine]]
                values: I64 = getattr(tracker, column)
                ok = rows < values.shape[0]
                got = np.zeros(rows.shape[0], dtype=np.int64)
                got[ok] = values[rows[ok]]
                out[mine] = got
        return out

    def reports_json(self, index: SeriesIndex, ms: I64) -> list[bytes]:
        """`orjson.dumps(report(index, m).to_dict())` for each machine of `ms`, byte for byte, with the
        matrices rounded and serialised as arrays (one numpy pass per type) rather than as nested lists."""
        out: list[bytes] = [b""] * ms.shape[0]
        types = index.machine_type[ms]
        for ti in np.unique(types).tolist():
            tracker, info = self.trackers.get(ti), index.types[ti]
            pos = np.flatnonzero(types == ti)
            rows = index.machine_trow[ms[pos]]
            done = np.zeros(pos.shape[0], dtype=np.bool_)
            ok = np.zeros(pos.shape[0], dtype=np.bool_)
            if tracker is not None:
                ok = rows < tracker.count.shape[0]
                done[ok] = tracker.n_windows[rows[ok]] > 0
            unseen = np.ones(pos.shape[0], dtype=np.bool_) if tracker is None else ~ok
            for k in np.flatnonzero(unseen).tolist():  # not in a ring yet: an empty matrix (`report`)
                out[int(pos[k])] = orjson.dumps(self.report(index, int(ms[pos[k]])).to_dict())
            if tracker is None:
                continue
            f = tracker.n_features
            sensors = list(info.sensors[:f])
            young = np.flatnonzero(~done & ~unseen)
            if young.shape[0]:  # no window yet: the vectors so far, all young machines in one pass
                so_far = tracker.so_far(rows[young])
                matrices = np.round(np.where(np.isinf(so_far), np.nan, so_far), 4)
                for k, i in enumerate(pos[young].tolist()):
                    out[i] = orjson.dumps(
                        {"sensors": sensors, "matrix": matrices[k], "breaks": []},
                        option=orjson.OPT_SERIALIZE_NUMPY,
                    )
            if not done.any():
                continue
            sel, rsel = pos[done], rows[done]
            last = tracker.last[rsel].astype(np.float64)
            matrices = np.round(np.where(np.isinf(last), np.nan, last), 4)
            broken = tracker.broken[rsel]
            any_broken: list[bool] = np.any(broken.reshape(broken.shape[0], -1), axis=1).tolist()
            for k, i in enumerate(sel.tolist()):
                breaks: list[dict[str, JsonValue]] = []
                if any_broken[k]:
                    base = tracker.baseline[rsel[k]].astype(np.float64)
                    breaks = [
                        CorrelationBreak(
                            sensors[a], sensors[b], float(base[a, b]), float(last[k, a, b])
                        ).to_dict()
                        for a, b in zip(*np.nonzero(broken[k]), strict=True)
                    ]
                out[i] = orjson.dumps(
                    {"sensors": sensors, "matrix": matrices[k], "breaks": breaks},
                    option=orjson.OPT_SERIALIZE_NUMPY,
                )
        return out

    def breaks_of(self, ti: int, row: int) -> int:
        """Pairs broken at the last completed window of the machine in row `row` of type `ti`."""
        tracker = self.trackers.get(ti)
        return int(tracker.breaks[row]) if tracker is not None else 0

    def report(self, index: SeriesIndex, m: int) -> CorrelationReport:
        """Machine `m`'s sensors, their correlation matrix over the recent window and the broken pairs."""
        ti, row = int(index.machine_type[m]), int(index.machine_trow[m])
        info, tracker = index.types[ti], self.trackers.get(ti)
        if tracker is None or row >= tracker.count.shape[0]:
            f = min(info.n_features, self.config.max_features)
            return CorrelationReport(list(info.sensors[:f]), np.full((f, f), np.nan), [])
        f = tracker.n_features
        base = tracker.baseline[row].astype(np.float64)
        if tracker.n_windows[row] > 0:  # the last completed window, as judged when it completed
            matrix = tracker.last[row : row + 1].astype(np.float64)
            broken = tracker.broken[row]
        else:  # no window yet: the vectors so far, and no baseline to break from
            matrix = tracker.so_far(np.array([row], dtype=np.int64))
            broken = np.zeros((f, f), dtype=np.bool_)
        sensors = list(info.sensors[:f])
        breaks = [
            CorrelationBreak(sensors[i], sensors[j], float(base[i, j]), float(matrix[0, i, j]))
            for i, j in zip(*np.nonzero(broken), strict=True)
        ]
        return CorrelationReport(sensors, matrix[0], breaks)

    def prepare_compaction(self, index: SeriesIndex) -> None:
        """Size every tracker to its type's machines before the index compacts (rows are gathered after)."""
        for ti, info in enumerate(index.types):
            tracker = self.trackers.get(ti)
            if tracker is not None:
                tracker.ensure(len(info.machines), tracker.n_features)

    def remap(self, r: Remap) -> None:
        """Follow a compaction: the kept machines' rows, by the new type index (a type kept only for its model
        starts its rings again)."""
        trackers = self.trackers
        self.trackers = {}
        for new, old in enumerate(r.types):
            if r.rows[new].shape[0] == 0:
                continue
            if old in trackers:
                trackers[old].take(r.rows[new])
                self.trackers[new] = trackers[old]

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.trackers.values())
