"""One batch's readings arranged for scoring: which readings are scored and in which rounds (`layout`), each
reading's scores back in the batch's order (`reading_scores`, `widen`), and per machine type the rows'
sensor vectors (`TypeBatch`, `type_vectors`) that the type models score, learn from and explain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dtwin.anomalies.detectors import DetectorOutput, SeriesState
from dtwin.anomalies.fleet import FleetState
from dtwin.anomalies.index import TypeInfo
from dtwin.anomalies.results import ReadingScores
from dtwin.anomalies.scan import F64, I64, Rounds
from dtwin.anomalies.type_model import TypeModel


def layout(
    series: SeriesState, skip_stale: bool, slots: I64, ts: F64, values: F64
) -> tuple[I64, Rounds, I64, I64]:
    """Which readings are scored (finite, and fresh when `skip_stale`) and the rounds layout: returns the kept
    readings' indices (grouped by series, time order within), the layout, each column's slot and the index
    (into the kept readings) of each column's last reading."""
    last_ts = series.last_ts
    finite = np.isfinite(values) & np.isfinite(ts)
    n = slots.shape[0]
    if n and int(np.bincount(slots).max()) <= 1:
        keep = finite & (ts > last_ts[slots]) if skip_stale else finite
        kidx = np.flatnonzero(keep)
        k = kidx.shape[0]
        return kidx, Rounds.single(k), slots[kidx], np.arange(k, dtype=np.int64)
    fin = np.flatnonzero(finite)
    t_fin = ts[fin]
    if t_fin.shape[0] < 2 or bool(np.all(t_fin[1:] >= t_fin[:-1])):  # already in time order (backtests)
        order = fin[np.argsort(slots[fin], kind="stable")]
    else:
        order = fin[np.lexsort((t_fin, slots[fin]))]
    s_o, t_o = slots[order], ts[order]
    if skip_stale:
        dup = np.zeros(order.shape[0], dtype=np.bool_)
        dup[1:] = (s_o[1:] == s_o[:-1]) & (t_o[1:] == t_o[:-1])
        order = order[(t_o > last_ts[s_o]) & ~dup]
    rounds, starts = Rounds.from_sorted_groups(slots[order])
    col_last = starts + rounds.counts - 1
    return order, rounds, slots[order][starts], col_last


def reading_scores(n: int, kidx: I64, rows: I64, slots: I64, det: DetectorOutput) -> ReadingScores:
    """The detectors' output of the kept readings `kidx`, in the positions of all `n` readings."""
    score = np.zeros(n)
    code = np.zeros(n, dtype=np.int8)
    z = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    scored = np.zeros(n, dtype=np.bool_)
    score[kidx], code[kidx], z[kidx], expected[kidx] = det.score, det.detector, det.z, det.expected
    scored[kidx] = True
    return ReadingScores(rows, slots, score, code, z, expected, scored)


def widen(scores: ReadingScores, keep: I64, rows: I64, slots: I64) -> ReadingScores:
    """Scores of the kept readings back in the positions of all `slots` (refused ones: not scored)."""
    n = slots.shape[0]
    score, code = np.zeros(n), np.zeros(n, dtype=np.int8)
    z, expected = np.full(n, np.nan), np.full(n, np.nan)
    scored = np.zeros(n, dtype=np.bool_)
    score[keep], code[keep], z[keep] = scores.score, scores.detector, scores.z
    expected[keep], scored[keep] = scores.expected, scores.scored
    return ReadingScores(rows, slots, score, code, z, expected, scored)


@dataclass
class TypeBatch:
    """Rows of one machine type in a batch, in (machine, time) order, with their sensor vectors."""

    info: TypeInfo
    rows: I64  # row ids
    trow: I64  # the machines' rows in the type's table
    V: F64  # sensor vectors (rows x the type's features)
    model: TypeModel | None
    feat_map: I64 | None  # model feature -> type feature (-1: missing)
    S: F64  # each machine's slow level per sensor, filled like V
    Ds: F64  # each sensor's fast level minus its slow level: what the type model sees and learns from

    def model_input(self) -> F64:
        """The vectors in the form the installed model was fitted on: smoothed deviations; for models
        persisted before, deviations of the readings themselves (computed only for them), or absolute
        values for the oldest."""
        if self.model is None or self.model.smoothed:
            return self.Ds
        return self.V - self.S if self.model.deviations else self.V


def type_vectors(
    fleet: FleetState,
    models: Mapping[int, TypeModel],
    vrows: I64,
    row_machine: I64,
    k_rows: I64,
    k_slots: I64,
    k_vals: F64,
    k_slow: F64,
    k_fast: F64,
    row_ts: F64,
    carry_max_s: float,
) -> list[TypeBatch]:
    """Per type: each row's sensor vector (the row's readings, older values of the machine filled forward,
    the state before the batch for the first row), and the same vectors as deviations from each series' slow
    level (what the type model sees: machines of one type at different setpoints share one model, and a slow
    swing of ambient conditions or load is not a new regime), and as smoothed deviations (each series' fast
    level minus its slow one): sensors follow a change of load with their own lags (an outlet temperature
    minutes behind a flow), so instantaneous vectors in a transient break the steady-state relations the
    model learned, while levels smoothed over ~100 samples keep them, and the noise they average out makes
    a slow fault stand out sooner. Read before the batch's state is stored.

    A value is carried forward for at most `carry_max_s` seconds: a sensor that stopped reporting (a dropout,
    a cut cable) is missing (NaN) after that, and the model judges the others without it, rather than
    comparing a frozen value with a machine that has moved on."""
    idx = fleet.index
    out: list[TypeBatch] = []
    if vrows.shape[0] == 0:
        return out
    r_type = idx.machine_type[row_machine[vrows]]
    pos_of_row = np.full(row_machine.shape[0], -1, dtype=np.int64)
    series = fleet.series
    for ti in np.unique(r_type).tolist():
        info = idx.types[ti]
        sel = vrows[r_type == ti]
        n_sel, f = sel.shape[0], info.n_features
        trow = idx.machine_trow[row_machine[sel]]
        pos_of_row[sel] = np.arange(n_sel)
        kr = pos_of_row[k_rows]
        mine = kr >= 0
        pos_of_row[sel] = -1
        first = np.ones(n_sel, dtype=np.bool_)
        first[1:] = trow[1:] != trow[:-1]
        init_slots = info.table()[trow[first]]
        cells = (kr[mine], idx.series_feature[k_slots[mine]])
        init_at = (init_slots >= 0, np.maximum(init_slots, 0))
        V = np.full((n_sel, f), np.nan)
        S = np.full((n_sel, f), np.nan)  # slow levels, filled the same way
        F = np.full((n_sel, f), np.nan)  # fast levels, the same
        T = np.full((n_sel, f), np.nan)  # when each value was read
        t_sel = row_ts[sel]
        V[cells], S[cells], F[cells] = k_vals[mine], k_slow[mine], k_fast[mine]
        T[cells] = t_sel[kr[mine]]
        carried = np.isnan(V[first])  # a machine's first row: what it lacks comes from the series' state
        lacking = carried.any(axis=1)  # (the usual consumer row has every sensor: nothing to carry)
        if lacking.any():
            at, carried = np.flatnonzero(first)[lacking], carried[lacking]
            have, slot = init_at[0][lacking], init_at[1][lacking]
            with np.errstate(divide="ignore", invalid="ignore"):
                slow = series.dslow[slot] / (1.0 - series.q_slow[slot])
                fast = series.dfast[slot] / (1.0 - series.q_fast[slot])
            for grid, state in ((V, series.last_x[slot]), (S, slow), (F, fast), (T, series.last_ts[slot])):
                grid[at] = np.where(carried, np.where(have, state, np.nan), grid[at])
        if not first.all():  # later rows of a machine: fill forward what they lack from the rows before
            src = np.where(~np.isnan(V) | first[:, None], np.arange(n_sel)[:, None], -1)
            fill = (np.maximum.accumulate(src, axis=0), np.arange(f)[None, :])
            V, S, F, T = V[fill], S[fill], F[fill], T[fill]
        stale = ~(t_sel[:, None] - T <= carry_max_s)  # NaN times (never read) are stale too
        V[stale], S[stale], F[stale] = np.nan, np.nan, np.nan
        model = models.get(ti)
        feat_map = (
            np.array([info.feature.get(s, -1) for s in model.sensors], dtype=np.int64) if model else None
        )
        out.append(TypeBatch(info, sel, trow, V, model, feat_map, S, F - S))
    return out


def features(V: F64, feat_map: I64) -> F64:
    """Type features -> the model's feature order (NaN for sensors the type has not seen)."""
    return np.where(feat_map[None, :] >= 0, V[:, np.maximum(feat_map, 0)], np.nan)
