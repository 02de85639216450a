"""Calibrated ensemble of the detectors (issue #22 item 3): each detector family's evidence in a row gets its
own per-machine conformal tail probability `p_d`, the row's smallest `p_d` (or their harmonic combination) is
calibrated once more per machine, and the row is explained by the family with the smallest `p_d`. Pure numpy;
the state is a survival histogram per (machine, family) plus one for the combined statistic.

Both layers use the weighted conformal p-value of `calibration.py` (`p = (H(e) + a pi(e)) / (T + a)`), with
the histograms kept *lazily decayed*: a machine's stored histogram times its scale `s` is the true one, and
a row multiplies `s` by `1 - a` instead of every cell, so it writes only the cells at or below its evidence
(most families' evidence is small: one or two cells). Batches where a machine has several rows use the
scan of `scan.ewma_scan_cells` (the cells each row needs, summed over the rows that reach the histogram),
so scores do not depend on batching."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dtwin.anomalies.calibration import tail_between
from dtwin.anomalies.detectors import DETECTORS, MULTIVARIATE
from dtwin.anomalies.scan import F64, I64, Rounds, ewma_scan_cells, grown, room

# one family per detector code 1..8 (spike and dip apart: a sensor may dip often and never spike)
N_FAMILIES = len(DETECTORS) - 1
MV_FAMILY = MULTIVARIATE - 1


def _edges(*parts: tuple[float, float, float]) -> F64:
    out = np.unique(np.concatenate([np.arange(lo, hi + 1e-9, step) for lo, hi, step in parts]))
    return np.asarray(np.power(2.0, out), dtype=np.float64)


# families: coarse below 1/2 (the body, where most rows are: few cells to write), quarter octaves from 1/2 to
# 4 (where thresholds and tails are), half octaves to 64
FAMILY_EDGES: F64 = _edges((-3.0, 2.0, 0.25), (2.5, 6.0, 0.5))
# the combined statistic (`combined_evidence`; 1 = a row beyond all its machine's history): half octaves in
# the body, quarter octaves from p ~ 30a, half octaves beyond 8. Shifted by an eighth of an octave so no
# edge sits on 1, where every row that is a family's new extreme at evidence <= 1 lands (rounding there
# would decide the cell, and batching changes the rounding)
COMBINED_EDGES: F64 = _edges((-10.0, -4.0, 1.0), (-3.75, 3.0, 0.25), (3.5, 6.0, 0.5)) * 2.0**0.125
_RENORMALISE_BELOW = 2.0**-600  # a lazy scale this small is folded into its histograms (~400,000 rows)

Combine = Literal["max", "min", "harmonic"]


@dataclass(frozen=True, slots=True)
class EnsembleConfig:
    """`combine`: how the families' tail probabilities make one statistic per row: "min" (the smallest),
    "harmonic" (the sum of `1 / p_d`: several unusual families add up), or "max" (no ensemble: the largest
    evidence of all detectors, calibrated once, as before issue #22 item 3). `second_layer`: calibrate the
    combined statistic per machine again (the final `p` is then a tail probability whatever the dependence
    between the families); without it, Šidák's correction of the smallest `p_d`."""

    combine: Combine = "harmonic"
    second_layer: bool = True
    evidence_floor: bool = True


@dataclass
class EnsembleState:
    """Per machine slot: the lazily decayed survival histograms of each family (`fam`, families x edges,
    flattened) and of the combined statistic (`comb`), their common scale `s` (the true histogram is
    `s * stored`) and `q`, the weight not yet given to any row (`(1 - alpha)**rows`)."""

    fam: F64 = field(default_factory=lambda: np.zeros((0, N_FAMILIES * FAMILY_EDGES.shape[0])))
    comb: F64 = field(default_factory=lambda: np.zeros((0, COMBINED_EDGES.shape[0])))
    s: F64 = field(default_factory=lambda: np.ones(0))
    q: F64 = field(default_factory=lambda: np.ones(0))

    def grow(self, n_machines: int) -> None:
        new = room(n_machines, self.q.shape[0])
        if new is None:
            return
        self.fam, self.comb = grown(self.fam, new, 0.0), grown(self.comb, new, 0.0)
        self.s, self.q = grown(self.s, new, 1.0), grown(self.q, new, 1.0)

    def take(self, machines: I64) -> None:
        """Keep only these machines, renumbered 0.. in the given order (after the engine compacted)."""
        self.fam, self.comb = self.fam[machines], self.comb[machines]
        self.s, self.q = self.s[machines], self.q[machines]

    @property
    def nbytes(self) -> int:
        return int(self.fam.nbytes + self.comb.nbytes + self.s.nbytes + self.q.nbytes)


@dataclass(frozen=True, slots=True)
class EnsembleScores:
    """Per row: the final tail probability, each family's (rows x families) and the total weight of the
    machine's rows before it (how warm its calibration is)."""

    p: F64
    p_family: F64
    weight: F64


def _position(e: F64, edges: F64) -> tuple[I64, I64, F64]:
    """Per evidence: the last edge at or below it (-1 below the first), the interpolation cell `j` (edges j
    and j + 1) and the position `t` in it (0..1, geometric)."""
    b = np.searchsorted(edges, e, side="right") - 1
    j = np.clip(b, 0, edges.shape[0] - 2)
    lg = np.log2(edges)
    with np.errstate(divide="ignore"):
        t = (np.log2(np.maximum(e, 0.0)) - lg[j]) / (lg[j + 1] - lg[j])
    return b.astype(np.int64), j.astype(np.int64), np.clip(t, 0.0, 1.0)


def _single(hist: F64, ms: I64, s_pre: F64, s_post: F64, total: F64, ev: F64, edges: F64, a: float) -> F64:
    """One row per machine (`ms`), evidence `ev` (machines x K) against the lazily decayed `hist` (slots x
    K * edges, scale `s_pre`): the rows' p (machines x K); adds each row to the cells at or below its
    evidence, at the weight of the new scale `s_post`. Evidence below the first edge (most of it) touches
    nothing: its p is 1 and it is in no cell."""
    m, k = ev.shape
    n_edges = edges.shape[0]
    p = np.ones((m, k))
    rows, fams = np.nonzero(ev >= edges[0])
    if rows.shape[0] == 0:
        return p
    e = ev[rows, fams]
    b, j, t = _position(e, edges)
    base = ms[rows] * (k * n_edges) + fams * n_edges
    flat = hist.reshape(-1)
    scale = s_pre[rows]
    p[rows, fams] = tail_between(
        e, b < 0, t, flat[base + j] * scale, flat[base + j + 1] * scale, total[rows], a
    )
    cnt = b + 1  # the cells at or below the evidence (distinct: one row per machine)
    start = np.cumsum(cnt) - cnt
    cells = np.repeat(base - start, cnt) + np.arange(int(start[-1] + cnt[-1]))
    flat[cells] += np.repeat(a / s_post[rows], cnt)
    return p


def _scan(
    hist: F64, ms: I64, scale: F64, rounds: Rounds, total: F64, ev: F64, edges: F64, a: float
) -> tuple[F64, F64]:
    """Several rows per machine (`total`: the weight of each row's earlier rows): the EWMA scan of
    `calibration.calibrate` over (rounds x machines x edges) per family, read at the cells each row needs.
    Returns p (rows x K) and each machine's histogram after its rows (true scale). A row below the first
    edge reads nothing (its p is 1, as in `_single`) and adds to no cell."""
    n, k = ev.shape
    n_edges, m = edges.shape[0], rounds.n_cols
    pre = (hist[ms] * scale[:, None]).reshape(m, k, n_edges)
    b, j, t = _position(ev, edges)
    cells = np.where(np.isnan(ev), -1, b)  # NaN evidence is at or above no edge
    p = np.ones((n, k))
    after = np.empty((m, k, n_edges))
    # each machine's whole histogram after its own last row (before round `counts`: pad rounds follow)
    end_rounds = np.repeat(rounds.counts, n_edges)
    end_cols = np.repeat(np.arange(m, dtype=np.int64), n_edges)
    end_edges = np.tile(np.arange(n_edges, dtype=np.int64), m)
    for f in range(k):
        rows = np.flatnonzero(b[:, f] >= 0)
        r, c, jf = rounds.rank[rows], rounds.col[rows], j[rows, f]
        got = ewma_scan_cells(
            rounds.spread(cells[:, f]),
            n_edges,
            pre[:, f],
            a,
            np.concatenate([r, r, end_rounds]),
            np.concatenate([c, c, end_cols]),
            np.concatenate([jf, jf + 1, end_edges]),
        )
        nr = rows.shape[0]
        p[rows, f] = tail_between(
            ev[rows, f], b[rows, f] < 0, t[rows, f], got[:nr], got[nr : 2 * nr], total[rows], a
        )
        after[:, f] = got[2 * nr :].reshape(m, n_edges)
    return p, after.reshape(m, k * n_edges)


def combined_evidence(
    cfg: EnsembleConfig, p_family: F64, alpha: float, total: F64, evidence: F64 | None = None
) -> F64:
    """The combined statistic as evidence for the second layer: `alpha / ((T + alpha) p)` of the smallest
    `p_d` (or of the harmonic combination `1 / sum(1 / p_d)`); `T` the weight of the machine's earlier rows.
    1 = as rare as the row itself can vouch for, so the second layer's own prior (`min(1, 1 / e)`) keeps the
    final `p` at least the smallest `p_d` (a row beyond all its machine's history scores as before)."""
    if cfg.combine == "harmonic":  # 1 + sum(1 / p_d - 1): families at p = 1 add nothing
        inv = 1.0 + np.sum(1.0 / np.maximum(p_family, 1e-300) - 1.0, axis=1)
    else:
        inv = 1.0 / np.maximum(p_family.min(axis=1), 1e-300)
    out: F64 = alpha * inv / (total + alpha)
    if cfg.evidence_floor and evidence is not None:
        out = np.minimum(out, np.maximum(evidence.max(axis=1), 1.0))
    return out


def calibrate_ensemble(
    cfg: EnsembleConfig, alpha: float, state: EnsembleState, machines: I64, evidence: F64
) -> EnsembleScores:
    """Per row (sorted by machine, time order within; `machines` their slots) and family (`evidence`: rows x
    families): the families' and the final tail probabilities against the machine's earlier rows, and the
    state advanced past them. Causal and independent of batching, like `calibration.calibrate`."""
    n = evidence.shape[0]
    if n == 0:
        z = np.zeros(0)
        return EnsembleScores(z, np.zeros((0, evidence.shape[1])), z)
    a = alpha
    rounds, starts = Rounds.from_sorted_groups(machines)
    ms = machines[starts]
    cls = np.ceil(np.log2(rounds.counts)).astype(np.int64)
    if rounds.n_rounds > 2 and cls.min() != cls.max():
        # machines with similar row counts together (as `calibrate` does)
        p, pf, wt = np.empty(n), np.empty_like(evidence), np.empty(n)
        for c in np.unique(cls).tolist():
            sel = np.flatnonzero(cls[rounds.col] == c)
            sub = calibrate_ensemble(cfg, alpha, state, machines[sel], evidence[sel])
            p[sel], pf[sel], wt[sel] = sub.p, sub.p_family, sub.weight
        return EnsembleScores(p, pf, wt)
    q, s = state.q[ms], state.s[ms]
    if rounds.n_rounds == 1:
        total = 1.0 - q
        s_post = s * (1.0 - a)
        pf = _single(state.fam, ms, s, s_post, total, evidence, FAMILY_EDGES, a)
        if cfg.second_layer:
            e2 = combined_evidence(cfg, pf, a, total, evidence)[:, None]
            p = _single(state.comb, ms, s, s_post, total, e2, COMBINED_EDGES, a)[:, 0]
        else:
            p = _sidak(pf)
        state.q[ms], state.s[ms] = q * (1.0 - a), s_post
        low = ms[s_post < _RENORMALISE_BELOW]
        if low.shape[0]:
            state.fam[low] *= state.s[low][:, None]
            state.comb[low] *= state.s[low][:, None]
            state.s[low] = 1.0
        return EnsembleScores(p, pf, total)
    total = 1.0 - q[rounds.col] * np.power(1.0 - a, rounds.rank.astype(np.float64))
    pf, fam_after = _scan(state.fam, ms, s, rounds, total, evidence, FAMILY_EDGES, a)
    state.fam[ms] = fam_after
    if cfg.second_layer:
        e2 = combined_evidence(cfg, pf, a, total, evidence)[:, None]
        p2, comb_after = _scan(state.comb, ms, s, rounds, total, e2, COMBINED_EDGES, a)
        p = p2[:, 0]
        state.comb[ms] = comb_after
    else:
        p = _sidak(pf)
        state.comb[ms] *= s[:, None]
    state.s[ms] = 1.0
    state.q[ms] = q * np.power(1.0 - a, rounds.counts.astype(np.float64))
    return EnsembleScores(p, pf, total)


def _sidak(p_family: F64) -> F64:
    """Šidák's correction of the smallest of the families' p (exact for independent families)."""
    k = p_family.shape[1]
    out: F64 = -np.expm1(k * np.log1p(-np.minimum(p_family.min(axis=1), 1.0 - 1e-16)))
    return np.minimum(out, 1.0)


def explain_family(p_family: F64) -> I64:
    """Per row: the family (0-based: detector code - 1) with the smallest tail probability (ties: the
    earlier in `DETECTORS`); `MV_FAMILY` is the type model."""
    out: I64 = np.argmin(p_family, axis=1).astype(np.int64)
    return out
