"""Downsampling for charts: a series of (t, v) cut to about the number of pixels that will show it. Pure
numpy, arrays in and arrays out.

- LTTB (largest triangle three buckets, Steinarsson 2013) keeps the points that shape the line: the first
  and last point, then per bucket the point forming the largest triangle with the point kept before and the
  average of the next bucket.
- min/max per bucket keeps every extreme (nothing a spike could hide in), two points per pixel column."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def lttb(t: F64, v: F64, n: int) -> tuple[F64, F64]:
    """At most `n` points (n >= 3) of the series, chosen by LTTB. `t` must be ascending."""
    size = len(t)
    if n >= size or size <= 2:
        return t.copy(), v.copy()
    n = max(n, 3)
    edges = np.linspace(1, size - 1, n - 1).astype(np.int64)  # n - 2 buckets between first and last point
    keep = np.empty(n, dtype=np.int64)
    keep[0], keep[-1] = 0, size - 1
    a = 0
    for i in range(n - 2):
        lo, hi = edges[i], edges[i + 1]
        nlo, nhi = hi, edges[i + 2] if i + 2 < len(edges) else size
        if nhi <= nlo:
            nlo, nhi = size - 1, size
        ct, cv = t[nlo:nhi].mean(), v[nlo:nhi].mean()
        area = np.abs((t[a] - ct) * (v[lo:hi] - v[a]) - (t[a] - t[lo:hi]) * (cv - v[a]))
        a = lo + int(np.argmax(area))
        keep[i + 1] = a
    return t[keep], v[keep]


def minmax(t: F64, v: F64, n: int) -> tuple[F64, F64]:
    """The minimum and the maximum of each of n/2 equal-time buckets, in time order (at most `n` points)."""
    size = len(t)
    if n >= size or size <= 2:
        return t.copy(), v.copy()
    buckets = max(n // 2, 1)
    edges = np.searchsorted(t, np.linspace(t[0], t[-1], buckets + 1)[:-1], side="left")
    edges = np.unique(edges)
    idx = np.arange(size)
    bucket_of = np.searchsorted(edges, idx, side="right") - 1
    order = np.lexsort((v, bucket_of))  # by bucket, then by value
    starts = np.searchsorted(bucket_of[order], np.arange(len(edges)), side="left")
    ends = np.append(starts[1:], size)
    lo_idx, hi_idx = order[starts], order[ends - 1]
    picked = np.unique(np.concatenate([lo_idx, hi_idx]))  # sorted: time order, min/max once each
    return t[picked], v[picked]
