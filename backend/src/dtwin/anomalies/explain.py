"""Explanations: the sensors that contribute most to an anomalous row, with value, expected (tracked level)
and how far off (z, % of the operating range). Built only for anomalous machines; `BatchExplainer` finds a
row's readings or type vector in a scored batch."""

from __future__ import annotations

import math

import numpy as np

from dtwin.anomalies.batch import TypeBatch
from dtwin.anomalies.config import EngineConfig
from dtwin.anomalies.detectors import (
    DETECTORS,
    MULTIVARIATE,
    NONE,
    DetectorConfig,
    DetectorOutput,
    SeriesState,
)
from dtwin.anomalies.fleet import FleetState
from dtwin.anomalies.results import Contribution
from dtwin.anomalies.scan import F64, I64
from dtwin.anomalies.type_model import TypeModel


def _pct(value: float, expected: float, lo: float, hi: float) -> float | None:
    width = hi - lo
    if not (math.isfinite(width) and width > 0 and math.isfinite(expected)):
        return None
    return 100.0 * (value - expected) / width


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def univariate(
    readings: I64,
    sensors: list[str],
    k_slots: I64,
    k_vals: F64,
    det: DetectorOutput,
    series: SeriesState,
    top: int,
    family: int | None = None,
) -> list[Contribution]:
    """`readings`: indices (into the batch's scored readings) of one row; the top ones by evidence, or (with
    `family`, a detector code) by that detector's own evidence first: the calibrated ensemble's explanation,
    the sensor that gave the detector its evidence. A reading named for that detector reports its evidence
    and label; one that has none of it, its own strongest detector's."""
    fam = None if family is None else det.families[:, family - 1]
    if fam is None:
        order = readings[np.argsort(-det.evidence[readings], kind="stable")][:top]
    else:
        order = readings[np.lexsort((-det.evidence[readings], -fam[readings]))][:top]
    out = []
    for i in order.tolist():
        slot = int(k_slots[i])
        value, expected = float(k_vals[i]), float(det.expected[i])
        evidence, code = float(det.evidence[i]), int(det.detector[i])
        if fam is not None and family is not None and fam[i] > 0.0:
            evidence, code = float(fam[i]), family
        out.append(
            Contribution(
                sensor=sensors[slot],
                value=value,
                expected=_opt(expected),
                z=_opt(float(det.z[i])),
                pct_of_range=_pct(value, expected, float(series.lo[slot]), float(series.hi[slot])),
                evidence=evidence,
                detector=DETECTORS[code],
            )
        )
    return out


def multivariate(
    model: TypeModel,
    feat_map: I64,
    vector: F64,
    raw: F64,
    slots: I64,
    sensors: list[str],
    series: SeriesState,
    cfg: DetectorConfig,
    top: int,
) -> list[Contribution]:
    """One row's vector (the type's features, as the model sees them) under the type model: sensors ranked by
    their squared z given the other sensors; `raw` holds the readings themselves, `slots` the machine's series
    per type feature (-1 = none)."""
    X = np.where(feat_map >= 0, vector[np.maximum(feat_map, 0)], np.nan)[None, :]
    contrib = model.contributions(X)[0]
    out = []
    for j in np.argsort(-contrib, kind="stable")[:top].tolist():
        f = int(feat_map[j])
        if f < 0 or not contrib[j] > 0.0 or not math.isfinite(raw[f]):
            continue  # a sensor the model did not see in this row (never reported, or stopped reporting)
        slot = int(slots[f])
        value = float(raw[f])
        if slot >= 0:
            one = series.take(np.array([slot], dtype=np.int64))
            level, sigma = float(one.level()[0]), float(one.sigma()[0])
            lo, hi = float(series.lo[slot]), float(series.hi[slot])
        else:
            level = sigma = lo = hi = math.nan
        z = (value - level) / sigma if sigma > 0 else math.nan
        out.append(
            Contribution(
                sensor=sensors[slot] if slot >= 0 else model.sensors[j],
                value=value,
                expected=_opt(level),
                z=_opt(z),
                pct_of_range=_pct(value, level, lo, hi),
                evidence=math.sqrt(max(float(contrib[j]), 0.0)) / model.threshold,
                detector=DETECTORS[MULTIVARIATE],
            )
        )
    return out


class BatchExplainer:
    """Explanations for the anomalous rows of one batch (index structures built once, when the first
    anomalous row needs them). Reads the series state after the batch was stored."""

    def __init__(
        self,
        config: EngineConfig,
        fleet: FleetState,
        n_rows: int,
        k_rows: I64,
        k_slots: I64,
        k_vals: F64,
        det: DetectorOutput,
        batches: list[TypeBatch],
    ) -> None:
        self.config, self.fleet = config, fleet
        self.k_slots, self.k_vals, self.det = k_slots, k_vals, det
        self.order = np.argsort(k_rows, kind="stable")
        self.sorted_rows = k_rows[self.order]
        self.batches = batches
        self.batch_of_row = np.full(n_rows, -1, dtype=np.int64)
        self.pos_of_row = np.full(n_rows, -1, dtype=np.int64)
        for b, tb in enumerate(batches):
            self.batch_of_row[tb.rows] = b
            self.pos_of_row[tb.rows] = np.arange(tb.rows.shape[0])

    def row(self, r: int, detector: int, uni_arg: int) -> list[Contribution]:
        """Row `r`'s top sensors: under its type model if that scored it, else by its readings' evidence."""
        top = self.config.explain_top
        sensors, series = self.fleet.index.series_sensor, self.fleet.series
        b = int(self.batch_of_row[r])
        if detector == MULTIVARIATE and b >= 0:
            tb = self.batches[b]
            if tb.model is not None and tb.feat_map is not None:
                pos = int(self.pos_of_row[r])
                slots = tb.info.table()[int(tb.trow[pos])]
                return multivariate(
                    tb.model,
                    tb.feat_map,
                    tb.model_input()[pos],
                    tb.V[pos],
                    slots,
                    sensors,
                    series,
                    self.config.detectors,
                    top,
                )
        lo = int(np.searchsorted(self.sorted_rows, r, side="left"))
        hi = int(np.searchsorted(self.sorted_rows, r, side="right"))
        family = detector if self.config.ensemble.combine != "max" and detector != NONE else None
        return univariate(
            self.order[lo:hi], sensors, self.k_slots, self.k_vals, self.det, series, top, family
        )
