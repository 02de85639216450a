"""Calibrated row scores (issue #22): each machine's row evidence is turned into a tail probability against
that machine's own recent evidence, so a score of 0.99 means about one row in a hundred on its normal data.
Pure numpy; the state is a decayed survival histogram per machine, updated by the linear scan of `scan.py`.

A row's tail probability is a weighted conformal p-value: `p = (H(e) + a pi(e)) / (T + a)`, where `H(e)` is
the exponentially weighted share (rate `a` per row) of the machine's earlier rows whose evidence was at least
`e`, `T` the total weight of those rows and `a pi(e)` the row itself as one more observation, spread over a
Pareto tail `pi(e) = min(1, 1 / e)` above the detectors' threshold (evidence 1) so that rows beyond anything
the machine has shown are still ordered by how far beyond they are. `H` is kept at fixed evidence edges
(quarter octaves from 1/8 to 64) and interpolated geometrically between them. The score is `1 - p`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtwin.anomalies.scan import F64, I64, Bool, Rounds, ewma_scan, grown, room

# quarter octaves of evidence from 1/8 to 64 (evidence 1.0 = a detector's own threshold)
EDGES: F64 = np.power(2.0, np.arange(-3.0, 6.0 + 1e-9, 0.25))
_LOG2_E0 = -3.0
_STEP = 0.25


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """`alpha`: the per-row weight of the survival histogram (its memory is ~1 / alpha rows, the same as the
    drift detector's slow level): a state that persists for a few percent of that memory is no longer rare,
    so a level that shifts and stays scores lower with every row (the new normal)."""

    alpha: float = 0.001


@dataclass
class CalibrationState:
    """Per machine slot: the raw EWMA of `evidence >= edge` for every edge (started at 0) and `q`, the weight
    not yet given to any row (`(1 - alpha)**rows`; the total weight is `1 - q`)."""

    hist: F64 = field(default_factory=lambda: np.zeros((0, EDGES.shape[0])))
    q: F64 = field(default_factory=lambda: np.ones(0))

    def grow(self, n_machines: int) -> None:
        new = room(n_machines, self.q.shape[0])
        if new is None:
            return
        self.hist, self.q = grown(self.hist, new, 0.0), grown(self.q, new, 1.0)

    def take(self, machines: I64) -> None:
        """Keep only these machines, renumbered 0.. in the given order (after the engine compacted)."""
        self.hist, self.q = self.hist[machines], self.q[machines]

    @property
    def nbytes(self) -> int:
        return int(self.hist.nbytes + self.q.nbytes)


def tail_probability(evidence: F64, hist: F64, total: F64, alpha: float) -> F64:
    """p of each row from its evidence and the survival histogram `hist` (rows x edges, raw EWMA) and total
    weight `total` of the rows before it."""
    e = np.maximum(evidence, 0.0)
    n_edges = EDGES.shape[0]
    with np.errstate(divide="ignore"):
        u = (np.log2(e) - _LOG2_E0) / _STEP
    u = np.clip(u, 0.0, n_edges - 1.0)
    j = np.minimum(np.floor(u).astype(np.int64), n_edges - 2)
    rows = np.arange(e.shape[0])
    return tail_between(e, e < EDGES[0], u - j, hist[rows, j], hist[rows, j + 1], total, alpha)


def tail_between(e: F64, below: Bool, t: F64, lo: F64, hi: F64, total: F64, alpha: float) -> F64:
    """The conformal p of evidence `e` from the survival `lo`, `hi` at the two edges around it (`t`: its
    geometric position between them, 0..1; `below`: under the first edge, where every earlier row counts) and
    the total weight `total` of the earlier rows."""
    with np.errstate(divide="ignore", invalid="ignore"):
        geo = np.exp((1.0 - t) * np.log(lo) + t * np.log(hi))
    survival = np.where((lo > 0) & (hi > 0), geo, (1.0 - t) * lo + t * hi)
    survival = np.where(below, total, survival)
    prior = alpha * np.minimum(1.0, 1.0 / np.maximum(e, 1e-300))
    p: F64 = np.minimum((survival + prior) / (total + alpha), 1.0)
    return p


def calibrate(
    cfg: CalibrationConfig, state: CalibrationState, machines: I64, evidence: F64, weight: F64 | None = None
) -> F64:
    """Tail probability of each row (rows sorted by machine, time order within a machine; `machines` their
    machine slots) against the machine's rows before it, and the state advanced past them. Vectorised across
    machines and along each machine's rows: a machine's p-values do not depend on how its rows are batched,
    and a row's never on later rows. `weight` (same length as the rows), when given, receives the total
    weight of the machine's rows before each row (`1 - (1 - a)^rows`: how warm its calibration is)."""
    n = evidence.shape[0]
    if n == 0:
        return np.zeros(0)
    a = cfg.alpha
    rounds, starts = Rounds.from_sorted_groups(machines)
    ms = machines[starts]
    pre = np.take(state.hist, ms, axis=0)  # machines x edges
    q = np.take(state.q, ms)
    if rounds.n_rounds == 1:  # one row per machine (the consumer's usual batch): no scan needed
        if weight is not None:
            weight[:] = 1.0 - q
        p = tail_probability(evidence, pre, 1.0 - q, a)
        pre *= 1.0 - a
        np.add(pre, a, out=pre, where=evidence[:, None] >= EDGES[None, :])
        state.hist[ms] = pre
        state.q[ms] = q * (1.0 - a)
        return p
    cls = np.ceil(np.log2(rounds.counts)).astype(np.int64)
    if rounds.n_rounds > 2 and cls.min() != cls.max():
        # machines with similar row counts (powers of two) together, so one chatty machine does not make the
        # (rounds x machines x edges) grid as tall as itself for every machine of the batch
        p = np.empty(n)
        for c in np.unique(cls).tolist():
            sel = np.flatnonzero(cls[rounds.col] == c)
            w = None if weight is None else np.empty(sel.shape[0])
            p[sel] = calibrate(cfg, state, machines[sel], evidence[sel], w)
            if weight is not None:
                weight[sel] = w
        return p
    n_edges = EDGES.shape[0]
    grid = rounds.spread(evidence)  # rounds x machines
    r, m = grid.shape
    hit = (grid[:, :, None] >= EDGES[None, None, :]).astype(np.float64).reshape(r, m * n_edges)
    after = ewma_scan(hit, pre.reshape(-1), a).reshape(r, m, n_edges)
    # the histogram before each row: the carried state for a machine's first row, else the scan's previous row
    prev = after[np.maximum(rounds.rank - 1, 0), rounds.col]
    before = np.where((rounds.rank > 0)[:, None], prev, pre[rounds.col])
    # total weight before each row: 1 - q (1 - a)**rank
    total = 1.0 - q[rounds.col] * np.power(1.0 - a, rounds.rank.astype(np.float64))
    if weight is not None:
        weight[:] = total
    p = tail_probability(evidence, before, total, a)
    state.hist[ms] = after[rounds.counts - 1, np.arange(m)]
    state.q[ms] = q * np.power(1.0 - a, rounds.counts.astype(np.float64))
    return p
