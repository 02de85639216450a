"""The multivariate model of a machine type: a Gaussian mixture over the machines' sensor vectors, fitted on
healthy windows, scored as the Mahalanobis distance to the most likely component. Also the training policy
and the bounded buffer of healthy vectors. Pure: arrays in, arrays out; fitting never touches the loop."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from dtwin.anomalies.scan import F64, I64

Range = tuple[float, float]


class TrainingJob(NamedTuple):
    """What `ScoringEngine.training_due()` hands out: `fit_model(*job)` fits it."""

    machine_type: str
    X: F64  # healthy machine vectors, one row per sample, columns in `sensors` order
    sensors: tuple[str, ...]
    ranges: tuple[Range | None, ...]
    deviations: bool = True  # X holds deviations from each machine's slow level (the engine's buffers do)
    smoothed: bool = True  # ...of its fast level, not of the readings (the engine's buffers since 2026-12-06)


@dataclass(frozen=True)
class TypeModel:
    """A fitted model; plain numpy arrays so it pickles small and does not depend on scikit-learn's internals.

    Features are standardised with `center`/`scale`; component k has mean `means[k]` and precision
    `prec_chol[k] @ prec_chol[k].T`. Evidence = the largest conditional z of a feature given all the others
    under the most likely component (how far the worst sensor is from what the rest of the vector implies),
    divided by `threshold` (1.0 = the 99.9th percentile of the training values times a margin). Unlike the
    Mahalanobis distance it does not grow when a machine moves *along* the relations it was trained on (a
    load level it has not run at yet); it grows when one sensor stops fitting the others."""

    machine_type: str
    sensors: tuple[str, ...]
    center: F64
    scale: F64
    weights: F64
    means: F64
    prec_chol: F64
    threshold: float
    n_samples: int
    version: int = 0
    trained_at: float = 0.0  # stream time (epoch seconds) of the newest training sample
    # fitted on deviations from each machine's slow level (the engine's training buffer holds those); False
    # for models persisted before that, which the engine keeps scoring with absolute values
    deviations: bool = False
    # fitted on smoothed deviations (each sensor's fast level minus its slow level); False for models
    # persisted before, which the engine keeps scoring with the readings' deviations
    smoothed: bool = False

    @property
    def n_features(self) -> int:
        return len(self.sensors)

    def _components(self, Z: F64) -> tuple[F64, I64, F64]:
        """Squared distance to every component (n, K), the most likely component and the whitened residual."""
        # y_k = (z - mu_k) @ L_k  -> (n, K, F), as matrix products (BLAS; numpy's einsum loops cost ~10x)
        L = self.prec_chol
        Y = np.swapaxes(np.matmul(Z, L), 0, 1) - np.matmul(self.means[:, None, :], L)[None, :, 0, :]
        d2 = np.einsum("nkg,nkg->nk", Y, Y)
        log_det = np.log(np.diagonal(self.prec_chol, axis1=1, axis2=2)).sum(axis=1)
        best = np.argmax(np.log(self.weights) + log_det - 0.5 * d2, axis=1).astype(np.int64)
        return d2, best, Y

    def score_samples(self, X: F64) -> F64:
        """Evidence per row of `X` (n, F), vectorised; 1.0 = threshold."""
        if X.shape[0] == 0:
            return np.zeros(0)
        out: F64 = np.sqrt(self.contributions(X).max(axis=1)) / self.threshold
        return out

    def contributions(self, X: F64) -> F64:
        """Per row and feature, the squared z-score of the feature given all the others under the row's most
        likely component ((P r)_f**2 / P_ff): which sensors make the combination unusual. A missing feature
        (NaN) is marginalised out: the row is judged under the distribution of the features it has (the
        precision of that marginal), and the missing one contributes 0."""
        if X.shape[0] == 0:
            return np.zeros((0, self.n_features))
        Z = (X - self.center) / self.scale
        missing = ~np.isfinite(Z)
        if not missing.any():
            return self._contributions(Z)
        out = np.zeros(Z.shape)
        cov = np.linalg.inv(np.einsum("kfg,khg->kfh", self.prec_chol, self.prec_chol))  # per component
        patterns, which = np.unique(missing, axis=0, return_inverse=True)
        which = which.reshape(-1)
        for k, pattern in enumerate(patterns):
            rows = np.flatnonzero(which == k)
            have = np.flatnonzero(~pattern)
            if have.shape[0] == 0:
                continue
            if have.shape[0] == self.n_features:
                out[rows] = self._contributions(Z[rows])
                continue
            out[np.ix_(rows, have)] = self._marginal_contributions(Z[np.ix_(rows, have)], have, cov)
        return out

    def _marginal_contributions(self, Zo: F64, have: I64, cov: F64) -> F64:
        """`contributions` of rows that have only the features `have`, under each component's marginal
        (`cov`: each component's covariance, the inverse of its precision L L^T)."""
        Pm = np.linalg.inv(cov[:, have][:, :, have])  # the marginal's precision
        R = Zo[:, None, :] - self.means[None][:, :, have]  # (n, K, F_have)
        G = np.einsum("kfg,nkg->nkf", Pm, R)
        d2 = np.einsum("nkf,nkf->nk", R, G)
        log_det = 0.5 * np.linalg.slogdet(Pm)[1]
        best = np.argmax(np.log(self.weights) + log_det - 0.5 * d2, axis=1)
        rows = np.arange(Zo.shape[0])
        g = G[rows, best]
        p_diag = np.diagonal(Pm, axis1=1, axis2=2)[best]
        out: F64 = g * g / p_diag
        return out

    def _contributions(self, Z: F64) -> F64:
        _, best, Y = self._components(Z)
        L = self.prec_chol
        g = np.empty(Z.shape)  # P (z - mu) = L y under each row's most likely component
        for k in range(L.shape[0]):  # one matrix product per component (not a matrix per row)
            rows = np.flatnonzero(best == k)
            if rows.shape[0]:
                g[rows] = Y[rows, k] @ L[k].T
        p_diag = np.square(L).sum(axis=2)[best]  # P_ff = sum_g L_fg^2
        out: F64 = g * g / p_diag
        return out


def _robust_scale(X: F64, ranges: Sequence[Range | None]) -> tuple[F64, F64]:
    center = np.median(X, axis=0)
    mad = 1.4826 * np.median(np.abs(X - center), axis=0)
    std = X.std(axis=0)
    floor = 1e-9 * (1.0 + np.abs(center))
    for i, r in enumerate(ranges):
        if r is not None and r[1] > r[0]:
            floor[i] = max(floor[i], 1e-3 * (r[1] - r[0]))
    return center, np.maximum(np.maximum(mad, 0.5 * std), floor)


# The threshold's margin over the training rows' 99.9th percentile. Smoothed vectors (levels over ~100
# samples) are strongly autocorrelated: the buffer's ~8,000 rows, taken 20 samples apart, hold far fewer
# independent ones, so their 99.9th percentile understates the healthy tail. Chosen on the simulator's
# scenarios (`make bench-detection`, benchmarks.md 2026-12-06): margins 3 / 5 gave 3.3 / 2.5 false-alarm
# episodes per 100 healthy machine-hours in the default scenario at recall 1.00 for every fault kind.
MARGIN = 1.5
SMOOTHED_MARGIN = 5.0


def fit_model(
    machine_type: str,
    X: F64,
    sensors: Sequence[str] | None = None,
    ranges: Sequence[Range | None] | None = None,
    deviations: bool = False,
    smoothed: bool = False,
    *,
    max_components: int = 3,
    max_fit_samples: int = 2048,
    quantile: float = 0.999,
    margin: float | None = None,
    min_threshold: float = 6.0,
    random_state: int = 0,
    trained_at: float = 0.0,
) -> TypeModel:
    """Fit a type's model on healthy vectors (CPU-bound, blocking: run it with `asyncio.to_thread` or in a
    process pool; arguments and result pickle). The component count (1..max_components) is chosen by BIC.
    The mixture is fitted on at most `max_fit_samples` rows (an even stride), the threshold on all of them:
    the `quantile` of the training rows' evidence times `margin` (default `SMOOTHED_MARGIN` for smoothed
    vectors, `MARGIN` otherwise), at least `min_threshold`. Deterministic for the same input."""
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("X must be 2-D (samples x sensors)")
    X = X[np.isfinite(X).all(axis=1)]
    n, f = X.shape
    if n < max(20, 5 * f):
        raise ValueError(f"need at least {max(20, 5 * f)} complete samples to fit {machine_type}, got {n}")
    names = tuple(sensors) if sensors is not None else tuple(f"f{i}" for i in range(f))
    rng = tuple(ranges) if ranges is not None else (None,) * f
    if len(names) != f or len(rng) != f:
        raise ValueError("sensors and ranges must have one entry per column of X")
    center, scale = _robust_scale(X, rng)
    Z_all = (X - center) / scale
    Z = Z_all[:: max(1, math.ceil(n / max_fit_samples))]
    n_fit = Z.shape[0]
    best: GaussianMixture | None = None
    best_bic = math.inf
    for k in range(1, max(1, max_components) + 1):
        if n_fit < 10 * k * f:
            break
        gm = GaussianMixture(
            n_components=k, covariance_type="full", reg_covar=1e-4, random_state=random_state, max_iter=200
        )
        # one BLAS/OpenMP thread: spinning worker threads would take the cores the scoring loop runs on
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")
            gm.fit(Z)
        bic = float(gm.bic(Z))
        if bic < best_bic:
            best, best_bic = gm, bic
    assert best is not None
    model = TypeModel(
        machine_type=machine_type,
        sensors=names,
        center=center,
        scale=scale,
        weights=np.asarray(best.weights_, dtype=np.float64),
        means=np.asarray(best.means_, dtype=np.float64),
        prec_chol=np.asarray(best.precisions_cholesky_, dtype=np.float64),
        threshold=1.0,
        n_samples=n,
        trained_at=trained_at,
        deviations=deviations,
        smoothed=smoothed,
    )
    d = model.score_samples(X)
    if margin is None:
        margin = SMOOTHED_MARGIN if smoothed else MARGIN
    threshold = max(float(np.quantile(d, quantile)) * margin, min_threshold)
    return replace(model, threshold=threshold)


@dataclass(frozen=True, slots=True)
class TrainingPolicy:
    """When a type's model is (re)trained, and which vectors count as healthy."""

    min_samples: int = 512  # healthy vectors before the first fit
    retrain_every_samples: int = 100_000  # healthy vectors seen since the last fit...
    retrain_every_s: float = 24 * 3600.0  # ...or stream time since the last fit
    buffer_size: int = 8192  # the newest healthy vectors kept per type (the training set)
    sample_stride: int = 20  # keep every n-th healthy vector (spreads the buffer over time)
    healthy_score: float = 0.2  # a vector is healthy when its machine row scored below this
    min_features: int = 2  # types with fewer sensors get no multivariate model
    pending_timeout_s: float = 600.0  # hand the job out again if no model was installed by then


@dataclass
class TrainingBuffer:
    """The newest healthy vectors of one type (ring buffer, allocated as it fills: a type that never
    collects many vectors costs little) and the policy's counters."""

    n_features: int
    capacity: int
    data: F64 = field(init=False)
    count: int = 0  # vectors written in total
    seen: int = 0  # healthy vectors offered (before the stride)
    since_fit: int = 0
    fitted_at: float = -math.inf  # stream time of the last installed model
    fitted_size: int = 0  # buffer size when the last job was handed out
    pending_since: float | None = None

    def __post_init__(self) -> None:
        self.data = np.full((0, self.n_features), np.nan)

    def widen(self, n_features: int) -> None:
        """A new sensor appeared for the type: older vectors lack it, so start collecting again."""
        if n_features != self.n_features:
            self.n_features = n_features
            self.data = np.full((0, n_features), np.nan)
            self.count = 0

    def _reserve(self, rows: int) -> None:
        """Room for `rows` vectors (doubling, at most `capacity`); a ring wraps only once it is full."""
        have = self.data.shape[0]
        if rows <= have or have >= self.capacity:
            return
        data = np.full((min(self.capacity, max(rows, 2 * have, 64)), self.n_features), np.nan)
        data[:have] = self.data
        self.data = data

    def offer(self, X: F64, stride: int) -> None:
        """Keep every `stride`-th of the offered rows (deterministic, continues across batches)."""
        n = X.shape[0]
        if n == 0:
            return
        idx = np.arange(self.seen, self.seen + n)
        keep = X[(idx % stride) == 0]
        self.seen += n
        self.since_fit += n
        m = keep.shape[0]
        if m == 0:
            return
        if m >= self.capacity:
            keep = keep[-self.capacity :]
            m = self.capacity
        self._reserve(self.count + m)
        pos = (self.count + np.arange(m)) % self.capacity
        self.data[pos] = keep
        self.count += m

    @property
    def size(self) -> int:
        return min(self.count, self.capacity)

    def snapshot(self) -> F64:
        return self.data[: self.size].copy()

    def due(self, policy: TrainingPolicy, now: float, has_model: bool) -> bool:
        if self.n_features < policy.min_features or self.size < policy.min_samples:
            return False
        if self.pending_since is not None and now - self.pending_since < policy.pending_timeout_s:
            return False
        if not has_model or self.size >= 2 * self.fitted_size:  # no model yet, or the healthy set doubled
            return True
        return (
            self.since_fit >= policy.retrain_every_samples or now - self.fitted_at >= policy.retrain_every_s
        )
