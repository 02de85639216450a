"""The what-if predictor's numeric core (no I/O): a least-squares regression of a sensor's steady-state level
on the settings that move it, learned from a machine's own history (or its type's fleet, one intercept per
machine, shared slopes), with a prediction interval from the residuals; and what a predicted level means for
the operating range and the health the limit detector allows. Pure numpy, so the back-test bench
(`make bench-dryrun`) runs exactly what the API runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]
Method = Literal["history_regression", "fleet_regression", "insufficient_history", "no_model"]

LEVEL = 0.95  # the prediction interval's probability
MIN_DOF = 2  # residual degrees of freedom a fit must keep (else its interval means nothing)
# the limit detector's shape (anomalies/detectors.py DetectorConfig): evidence rises from 0 at 5% of the
# operating span inside a limit to 1 at 5% beyond it; score = e**4 / (1 + e**4)
LIMIT_BAND = 0.05
LIMIT_MARGIN = 0.05
SCORE_POWER = 4.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One steady span: the machine, its settings (the features, in a fixed order) and the sensor's mean."""

    machine: str
    x: tuple[float, ...]
    y: float


@dataclass(frozen=True, slots=True)
class Prediction:
    method: Method
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    sigma: float | None = None  # standard error of one new steady level at x0 (fit + residual scatter)
    samples: int = 0
    machines: int = 0
    distinct: int = 0  # distinct settings among the samples used
    degree: int | None = None
    extrapolated: bool = False  # x0 outside the range of settings the fit saw
    reason: str | None = None


def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile (Cornish-Fisher expansion around the normal one; within 1% for dof >= 3)."""
    z = NormalDist().inv_cdf(p)
    v = float(dof)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


@dataclass(frozen=True, slots=True)
class _Fit:
    beta: F
    xtx_inv: F
    s2: float
    dof: int
    press: float  # leave-one-out squared error (chooses the degree)


def _design(x: F, groups: npt.NDArray[np.int64], n_groups: int, degree: int) -> F:
    cols = [np.eye(n_groups)[groups]] if n_groups > 1 else [np.ones((x.shape[0], 1))]
    cols.append(x)
    if degree == 2:
        cols.append(x * x)
    return np.hstack(cols)


def _fit(X: F, y: F) -> _Fit | None:
    n, p = X.shape
    if n - p < MIN_DOF or np.linalg.matrix_rank(X) < p:
        return None
    xtx_inv: F = np.linalg.pinv(X.T @ X).astype(np.float64)
    beta = xtx_inv @ X.T @ y
    resid = y - X @ beta
    dof = n - p
    s2 = float(resid @ resid) / dof
    hat = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    press = float(np.sum((resid / np.maximum(1.0 - hat, 1e-9)) ** 2))
    return _Fit(beta, xtx_inv, s2, dof, press)


def _scale(x: F) -> tuple[F, F]:
    mid = (x.max(axis=0) + x.min(axis=0)) / 2.0
    half = (x.max(axis=0) - x.min(axis=0)) / 2.0
    return mid, np.where(half > 0, half, 1.0)


def _regress(
    samples: Sequence[Sample], x0: tuple[float, ...], target: str, method: Method, level: float
) -> Prediction | None:
    machines = sorted({s.machine for s in samples}, key=lambda m: (m != target, m))
    index = {m: k for k, m in enumerate(machines)}
    x = np.array([s.x for s in samples], dtype=np.float64).reshape(len(samples), len(x0))
    y = np.array([s.y for s in samples], dtype=np.float64)
    groups = np.array([index[s.machine] for s in samples], dtype=np.int64)
    mid, half = _scale(x)
    xs = (x - mid) / half
    xq = ((np.asarray(x0, dtype=np.float64) - mid) / half)[None, :]
    best: tuple[_Fit, int] | None = None
    for degree in (1, 2):
        if degree == 2 and any(len(np.unique(x[:, j])) < 4 for j in range(x.shape[1])):
            break  # a curve through three points or fewer is no evidence of curvature
        fit = _fit(_design(xs, groups, len(machines), degree), y)
        if fit is not None and (best is None or fit.press < best[0].press):
            best = (fit, degree)
    if best is None:
        return None
    fit, degree = best
    row = _design(xq, np.zeros(1, dtype=np.int64), len(machines), degree)[0]  # the target is group 0
    value = float(row @ fit.beta)
    sigma = math.sqrt(max(fit.s2 * (1.0 + float(row @ fit.xtx_inv @ row)), 0.0))
    half_width = t_quantile(0.5 + level / 2.0, fit.dof) * sigma
    seen_lo, seen_hi = x.min(axis=0), x.max(axis=0)
    tol = 1e-9 * np.maximum(np.abs(seen_hi), 1.0)
    outside = bool(np.any((np.asarray(x0) < seen_lo - tol) | (np.asarray(x0) > seen_hi + tol)))
    return Prediction(
        method=method,
        value=value,
        lower=value - half_width,
        upper=value + half_width,
        sigma=sigma,
        samples=len(samples),
        machines=len(machines),
        distinct=len({s.x for s in samples}),
        degree=degree,
        extrapolated=outside,
    )


def predict(
    samples: Sequence[Sample], x0: tuple[float, ...], target: str, level: float = LEVEL
) -> Prediction:
    """The steady level at settings `x0` of machine `target`: from its own samples when they vary enough
    to fit a line (or a curve, when leave-one-out error prefers it) with MIN_DOF to spare, else from the
    fleet's samples (machines whose settings varied, each with its own intercept, the target's anchoring
    the level), else `insufficient_history` saying what there is. Never a number without a fit."""
    own = [s for s in samples if s.machine == target]
    distinct_own = len({s.x for s in own})
    got = _regress(own, x0, target, "history_regression", level) if own else None
    if got is not None:
        return got
    if own:
        varied = {
            m
            for m in {s.machine for s in samples if s.machine != target}
            if len({s.x for s in samples if s.machine == m}) >= 2
        }
        pool = own + [s for s in samples if s.machine in varied]
        if varied:
            got = _regress(pool, x0, target, "fleet_regression", level)
            if got is not None:
                return got
    others = len({s.machine for s in samples} - {target})
    need = len(x0) + 1 + MIN_DOF
    return Prediction(
        method="insufficient_history",
        samples=len(own),
        distinct=distinct_own,
        reason=(
            f"{len(own)} steady span(s) of this machine at {distinct_own} distinct setting(s); a fit "
            f"needs {need} spans at {len(x0) + 1} or more distinct settings, or fleet history to borrow "
            f"slopes from (steady spans of {others} other machine(s) of the type"
            + ("" if own else "; and at least one of this machine's own to anchor its level")
            + ")"
        ),
    )


# ------------------------------------------------------------------------------------------ what it means
def limit_evidence(x: float, lo: float, hi: float) -> float:
    """The limit detector's evidence for a level x: 0 up to LIMIT_BAND of the span inside [lo, hi], 1 at
    LIMIT_MARGIN beyond (its noise-based margin left out: a steady level has no noise)."""
    width = hi - lo
    band, span = LIMIT_BAND * width, (LIMIT_BAND + LIMIT_MARGIN) * width
    return max((x - (hi - band)) / span, ((lo + band) - x) / span, 0.0)


def evidence_range(lower: float, upper: float, lo: float, hi: float) -> tuple[float, float]:
    """(least, most) limit evidence of any level in [lower, upper]."""
    most = max(limit_evidence(lower, lo, hi), limit_evidence(upper, lo, hi))
    width = hi - lo
    calm_lo, calm_hi = lo + LIMIT_BAND * width, hi - LIMIT_BAND * width
    if upper >= calm_lo and lower <= calm_hi:
        return 0.0, most
    nearest = upper if upper < calm_lo else lower
    return limit_evidence(nearest, lo, hi), most


def score(evidence: float) -> float:
    e = float(max(evidence, 0.0) ** SCORE_POWER)
    return e / (1.0 + e)


def health_allowed(evidence: float) -> float:
    """The health (0..100) of a machine whose rows score `score(evidence)` steadily."""
    return 100.0 * (1.0 - score(evidence))


def probability_outside(value: float, sigma: float, lo: float, hi: float) -> float:
    """P(level < lo or > hi) for a normal predictive distribution."""
    if sigma <= 0:
        return 0.0 if lo <= value <= hi else 1.0
    d = NormalDist(value, sigma)
    return float(d.cdf(lo) + (1.0 - d.cdf(hi)))
