"""Vectorised building blocks of the streaming scorer: the rounds layout (the k-th occurrence of every series
in one row, one column per series) and linear EWMA scans along the rounds. Pure numpy, no state."""

from __future__ import annotations

import math
from dataclasses import Field, dataclass, fields
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]
G = TypeVar("G", bound=np.generic)

# Up to this many rounds a Python loop over rows (vectorised across columns) is cheapest; beyond it the
# closed-form blocked scan below runs in O(rounds / block) numpy calls.
_LOOP_ROUNDS = 8
# b**-k stays below e**_LOG_RANGE inside one block (no overflow for |x| < 1e200). The terms of the cumulative
# sum grow geometrically, so the result keeps ~block * 1e-16 relative precision whatever the range.
_LOG_RANGE = 200.0


# per alpha, the factors of `_blocks` for the longest block asked so far (up to _CACHED_ROUNDS rounds); a
# backtest asks for the same ones on every chunk and scan
_FACTORS: dict[float, tuple[F64, F64]] = {}
_CACHED_ROUNDS = 1 << 16
_CACHED_ALPHAS = 64


def _blocks(alpha: float, rounds: int) -> tuple[int, F64, F64]:
    """The blocked closed form's block length (b**-k stays below e**_LOG_RANGE inside one) and its factors
    `alpha * b**-k` and `b**k` for k < block, b = 1 - alpha (read-only: shared by the calls with this
    alpha; each factor is computed alone, so a prefix of a longer table is the shorter table)."""
    b = 1.0 - alpha
    block = max(1, min(rounds, int(_LOG_RANGE / -math.log(b))))
    got = _FACTORS.get(alpha)
    if got is None or got[0].shape[0] < block:
        k = np.arange(block, dtype=np.float64)
        got = (alpha * np.power(b, -k), np.power(b, k))
        if block <= _CACHED_ROUNDS:
            for a in got:
                a.flags.writeable = False
            if len(_FACTORS) >= _CACHED_ALPHAS:
                _FACTORS.clear()
            _FACTORS[alpha] = got
    return block, got[0][:block], got[1][:block]


def room(needed: int, cap: int) -> int | None:
    """The capacity to grow per-machine state arrays of `cap` rows to so they hold `needed`: None when they
    already do, else at least double (at least 64), so growing one machine at a time stays amortised O(1)."""
    return None if needed <= cap else max(needed, 2 * cap, 64)


def grown(a: npt.NDArray[Any], size: int, fill: float) -> npt.NDArray[Any]:
    """`a` with its first axis extended to `size` rows filled with `fill` (the state arrays' doubling)."""
    out = np.full((size, *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def ewma_scan(x: F64, prev: F64, alpha: float) -> F64:
    """`y[r] = alpha * x[r] + (1 - alpha) * y[r - 1]` down axis 0 of `x` (rounds x columns), `y[-1] = prev`.

    Every column is an independent series; the result is the same (to ~1e-15) whether a series' samples
    arrive in one call or in several, which is what makes batch boundaries invisible to the detectors."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    rounds = x.shape[0]
    b = 1.0 - alpha
    out = np.empty_like(x)
    if rounds <= _LOOP_ROUNDS:  # each row computed in place: alpha * x[r] + b * y, as written above
        y = prev
        for r in range(rounds):
            row = out[r]
            np.multiply(x[r], alpha, out=row)
            row += b * y
            y = row
        return out
    block, up1, down1 = _blocks(alpha, rounds)
    up, down = up1[:, None], down1[:, None]
    y = prev
    for start in range(0, rounds, block):
        blk = x[start : start + block]
        n = blk.shape[0]
        acc = np.cumsum(blk * up[:n], axis=0)
        out[start : start + n] = down[:n] * acc + (b * down[:n]) * y[None, :]
        y = out[start + n - 1]
    return out


def ewma_scan_cells(
    cells: I64, n_edges: int, prev: F64, alpha: float, rounds: I64, cols: I64, edges: I64
) -> F64:
    """`ewma_scan` of the survival grid `cells[r, c] >= e` (rounds x columns x `n_edges`; `cells`: the last
    edge at or below each value, -1 below all), read only where needed: the value before round `rounds[i]`
    (0 to the number of rounds) in column `cols[i]` at edge `edges[i]` (`prev[c, e]` for round 0).

    The same recursion and blocks as `ewma_scan` (batch-invariant to ~1e-15) without materialising the grid:
    a block's cumulative sums run only over the rounds with a value at or above the first edge and only up
    to the highest edge reached (a histogram's body is where values mostly are not), which adds exactly the
    same non-zero terms in the same order as the dense sums would."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    n_rounds, m = cells.shape
    b = 1.0 - alpha
    before = np.empty(rounds.shape[0])
    first = rounds == 0
    before[first] = prev[cols[first], edges[first]]
    block, up, down = _blocks(alpha, n_rounds)
    y = prev
    for start in range(0, n_rounds, block):
        blk = cells[start : start + block]
        n = blk.shape[0]
        top = blk.max(axis=1)
        keep = np.flatnonzero(top >= 0)  # the rounds that add to some sum
        width = int(top[keep].max()) + 1 if keep.shape[0] else 0  # edges reached in the block
        # acc[i]: the sums over the first i kept rounds (acc[0] = 0), edges 0..width - 1 (above: 0)
        acc = np.zeros((keep.shape[0] + 1, m, width + 1))
        hit = blk[keep][:, :, None] >= np.arange(width)[None, None, :]
        np.cumsum(np.where(hit, up[keep][:, None, None], 0.0), axis=0, out=acc[1:, :, :width])
        # rows whose previous round falls in this block: y[t - 1] = b**(t-1-start) acc + b**(t-start) y_start
        mine = np.flatnonzero((rounds - 1 >= start) & (rounds - 1 < start + n))
        rr, cc, ee = rounds[mine] - 1 - start, cols[mine], edges[mine]
        got = acc[np.searchsorted(keep, rr, side="right"), cc, np.minimum(ee, width)]
        before[mine] = down[rr] * got + b * down[rr] * y[cc, ee]
        last = np.zeros((m, n_edges))
        last[:, :width] = acc[-1, :, :width]
        y = down[n - 1] * last + b * down[n - 1] * y
    return before


def bias_correction(alpha: float, count: F64) -> F64:
    """`1 - (1 - alpha)**count`: the total weight of an EWMA started at 0 after `count` samples; dividing by
    it gives an unbiased average during warm-up (NaN where count is 0)."""
    w = 1.0 - np.power(1.0 - alpha, count)
    return np.where(count > 0, w, np.nan)


@dataclass(frozen=True, slots=True)
class Rounds:
    """Where each reading sits in the (rounds x columns) layout. Readings of one column are in time order;
    pad cells (round >= count of the column) repeat the column's last value so scans stay finite."""

    col: I64  # column of each reading
    rank: I64  # round (k-th occurrence of its series in this batch) of each reading
    counts: I64  # readings per column
    n_rounds: int
    identity: bool = False  # one round, reading i in column i
    full: bool = False  # every column has n_rounds readings, stored column after column

    @property
    def n_cols(self) -> int:
        return int(self.counts.shape[0])

    @staticmethod
    def single(n: int) -> Rounds:
        """Every reading is its own column (no series repeats in the batch)."""
        return Rounds(
            np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64), 1, True
        )

    @staticmethod
    def from_sorted_groups(group: I64) -> tuple[Rounds, I64]:
        """Build from group keys already sorted (time order inside a group). Returns the layout and the
        index of the first reading of every column."""
        n = group.shape[0]
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Rounds(empty, empty, empty, 0), empty
        new = np.empty(n, dtype=np.bool_)
        new[0] = True
        np.not_equal(group[1:], group[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        col = np.cumsum(new, dtype=np.int64) - 1
        rank = np.arange(n, dtype=np.int64) - starts[col]
        counts = np.diff(np.append(starts, n)).astype(np.int64)
        r = int(counts.max())
        return Rounds(col, rank, counts, r, full=int(counts.min()) == r), starts.astype(np.int64)

    def spread(self, values: npt.NDArray[G]) -> npt.NDArray[G]:
        """Per-reading values -> (rounds, columns) with pads forward-filled (any dtype)."""
        if self.identity:
            return values[None, :]
        if self.full:
            return np.ascontiguousarray(values.reshape(self.n_cols, self.n_rounds).T)
        if self.n_rounds == 1:
            out = np.empty((1, self.n_cols), dtype=values.dtype)
            out[0, self.col] = values
            return out
        grid = np.empty((self.n_rounds, self.n_cols), dtype=values.dtype)
        grid[self.rank, self.col] = values
        ridx = np.minimum(np.arange(self.n_rounds)[:, None], (self.counts - 1)[None, :])
        return grid[ridx, np.arange(self.n_cols)[None, :]]

    def valid(self) -> Bool:
        return np.arange(self.n_rounds)[:, None] < self.counts[None, :]

    def gather(self, grid: npt.NDArray[G]) -> npt.NDArray[G]:
        """(rounds, columns) -> per-reading values (any dtype)."""
        if self.identity:
            row: npt.NDArray[G] = grid[0]
            return row
        if self.full:
            return grid.T.ravel()
        out: npt.NDArray[G] = grid[self.rank, self.col]
        return out

    def last(self, grid: F64) -> F64:
        """Value at each column's last valid round (the state to carry to the next batch)."""
        if self.n_rounds == 1:
            row: F64 = grid[0]
            return row
        return grid[self.counts - 1, np.arange(self.n_cols)]

    def shift(self, grid: F64, first: F64) -> F64:
        """The previous round's value for every cell; round 0 gets `first` (the carried state)."""
        out = np.empty_like(grid)
        out[0] = first
        out[1:] = grid[:-1]
        return out


def squash(evidence: F64, power: float) -> F64:
    """Evidence (1.0 = a detector's threshold) -> score in [0, 1): e**p / (1 + e**p); 1.0 maps to 0.5."""
    e = np.maximum(evidence, 0.0)
    if power == 4.0:  # the default; much cheaper than a float power
        e2 = e * e
        ep = e2 * e2
    else:
        ep = np.power(e, power)
    out: F64 = ep / (1.0 + ep)
    return out


def group_max(values: F64, group: I64, n_groups: int) -> tuple[F64, I64]:
    """Max of `values` per group and the index of the (first) element reaching it (-1 for empty groups)."""
    best = np.full(n_groups, -np.inf)
    np.maximum.at(best, group, values)
    hit = np.flatnonzero(values >= best[group])
    arg = np.full(n_groups, -1, dtype=np.int64)
    groups, first = np.unique(group[hit], return_index=True)
    arg[groups] = hit[first]
    return best, arg


def group_max_rows(values: F64, group: I64, n_groups: int) -> F64:
    """Column-wise max of non-negative `values` (items x columns) per group (0 for empty groups); cheapest
    when `group` is already sorted (a batch's readings usually come row by row)."""
    out = np.zeros((n_groups, values.shape[1]))
    n = group.shape[0]
    if n == 0:
        return out
    if not bool(np.all(group[1:] >= group[:-1])):
        order = np.argsort(group, kind="stable")
        values, group = values[order], group[order]
    new = np.empty(n, dtype=np.bool_)
    new[0] = True
    np.not_equal(group[1:], group[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    out[group[starts]] = np.maximum.reduceat(values, starts, axis=0)
    return out


S = TypeVar("S", bound="SoA")


def _same_view(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    """Whether two arrays are the same elements of the same memory (views alike)."""
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def consecutive(idx: npt.NDArray[Any], size: int) -> slice | None:
    """`idx` as a slice when it is a run of consecutive ascending integers within `0..size - 1` (a copy or
    a scatter through a slice moves memory in blocks; through an index array, element by element), else
    None."""
    if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.shape[0] < 2:
        return None
    n, first, last = idx.shape[0], int(idx[0]), int(idx[-1])
    if last - first != n - 1 or first < 0 or last >= size:
        return None
    if not bool(np.all(idx[1:] - idx[:-1] == 1)):
        return None
    return slice(first, first + n)


class SoA:
    """Base of dataclasses whose fields are equally long float64 arrays, one element per slot (structure of
    arrays): growth by doubling, gather (`take`) and scatter (`put`). `FILL` gives a field's initial value."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    FILL: ClassVar[dict[str, float]] = {}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names, in order (cached per class: `dataclasses.fields` builds a tuple on every call)."""
        names: tuple[str, ...] | None = cls.__dict__.get("_field_names")
        if names is None:
            names = tuple(f.name for f in fields(cls))
            setattr(cls, "_field_names", names)  # noqa: B010  (not a dataclass field)
        return names

    @classmethod
    def empty(cls: type[S], size: int) -> S:
        obj = cls.__new__(cls)
        for name in cls.names():
            setattr(obj, name, np.full(size, cls.FILL.get(name, 0.0)))
        return obj

    @property
    def capacity(self) -> int:
        first: F64 = getattr(self, self.names()[0])
        return int(first.shape[0])

    def grow(self, size: int) -> None:
        new_cap = room(size, self.capacity)
        if new_cap is None:
            return
        for name in self.names():
            setattr(self, name, grown(getattr(self, name), new_cap, self.FILL.get(name, 0.0)))

    def take(self: S, idx: I64) -> S:
        """The slots `idx` (integers), copied (`np.take`: a third cheaper than fancy indexing; a plain copy
        when they are a run of consecutive slots, as a batch of every series in slot order is)."""
        idx = np.asarray(idx, dtype=np.int64)
        run = consecutive(idx, self.capacity)
        obj = type(self).__new__(type(self))
        for name in self.names():
            a = getattr(self, name)
            setattr(obj, name, a[run].copy() if run is not None else np.take(a, idx))
        return obj

    def view(self: S, idx: I64) -> S:
        """The slots `idx` like `take`, but as views into the state when they are a run of consecutive slots
        (no copy): for a caller that only reads them, or replaces them whole, until it `put`s its result
        back. Valid until the state grows or is compacted."""
        idx = np.asarray(idx, dtype=np.int64)
        run = consecutive(idx, self.capacity)
        if run is None:
            return self.take(idx)
        obj = type(self).__new__(type(self))
        for name in self.names():
            setattr(obj, name, getattr(self, name)[run])
        return obj

    def put(self: S, idx: I64, other: S) -> None:
        """Scatter `other` (aligned with `idx`) into the slots `idx`. A field of `other` that is already the
        state's own view of those slots (`view`, a field passed through unchanged) is not copied onto
        itself."""
        run = consecutive(np.asarray(idx), self.capacity)
        at: I64 | slice = run if run is not None else idx
        for name in self.names():
            a, v = getattr(self, name), getattr(other, name)
            if run is not None and v.base is not None and _same_view(v, a[run]):
                continue
            a[at] = v

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in self.names())
