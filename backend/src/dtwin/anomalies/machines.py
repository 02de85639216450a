"""Per-machine part of the scoring engine: score EWMAs and health samples, RUL refits, de-duplicated anomaly
events, explanations and strategy decisions, vectorised over the machines a batch touched. A mixin of
`ScoringEngine` (kept apart so each file stays one responsibility)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from dtwin.anomalies import decisions as dec
from dtwin.anomalies import explain
from dtwin.anomalies.config import EngineConfig
from dtwin.anomalies.correlation import CorrelationTracker
from dtwin.anomalies.detectors import DETECTORS, MULTIVARIATE, DetectorOutput, SeriesState
from dtwin.anomalies.health import (
    HealthRing,
    TrendFit,
    fit_trend,
    health_index,
    remaining_life,
    trend_penalty,
)
from dtwin.anomalies.index import SeriesIndex, TypeInfo
from dtwin.anomalies.results import AnomalyEvent, Contribution, EventKind, MachineScores, to_datetime
from dtwin.anomalies.scan import F64, I64, Rounds, SoA, bias_correction, ewma_scan, group_max
from dtwin.anomalies.type_model import TypeModel


@dataclass
class MachineState(SoA):
    """Per-machine state (one element per machine slot)."""

    FILL: ClassVar[dict[str, float]] = {
        "bucket": -math.inf,
        "rul": math.nan,
        "rul_lo": math.nan,
        "rul_hi": math.nan,
        "level": 100.0,
        "ev_top": -1.0,
        "strategy": -1.0,
        "since": -math.inf,
        "top": -1.0,
        "headroom": math.nan,
        "headroom_feat": -1.0,
        "last_ts": -math.inf,
        "seen": -math.inf,
    }

    rows: F64  # machine rows (messages) scored
    s: F64  # raw EWMA of the row score
    sl: F64  # raw slow EWMA of the row score (memory of recent trouble)
    s2: F64  # raw EWMA of the squared row score
    last_ts: F64
    bucket: F64  # health-sample period of the last sample
    slope: F64  # health trend, points per second
    se: F64
    level: F64
    sig: F64
    rul: F64
    rul_lo: F64
    rul_hi: F64
    active: F64  # anomaly episode open
    ev_score: F64  # score at the last emitted event
    ev_peak: F64
    ev_top: F64  # top sensor (feature index) at the last emitted event
    ev_started: F64
    quiet: F64
    strategy: F64
    since: F64
    conf: F64
    risk: F64
    opp: F64
    stab: F64
    score: F64  # last batch's machine score
    det: F64
    top: F64
    headroom: F64
    headroom_feat: F64
    seen: F64  # the engine's clock at the machine's last message (what `evict_idle` compares)


@dataclass
class TypeBatch:
    """Rows of one machine type in a batch, in (machine, time) order, with their sensor vectors."""

    info: TypeInfo
    rows: I64  # row ids
    trow: I64  # the machines' rows in the type's table
    V: F64  # sensor vectors (rows x the type's features)
    model: TypeModel | None
    feat_map: I64 | None  # model feature -> type feature (-1: missing)
    D: F64  # the same vectors minus each machine's slow level per sensor (what the type model sees)

    def model_input(self) -> F64:
        """The vectors in the form the installed model was fitted on (deviations, or absolute values for
        models persisted before deviations were introduced)."""
        return self.D if self.model is None or self.model.deviations else self.V


class MachineSteps:
    """Per-machine steps of `ScoringEngine` (which provides these attributes)."""

    config: EngineConfig
    index: SeriesIndex
    series: SeriesState
    machines: MachineState
    health_ring: HealthRing
    _corr: dict[int, CorrelationTracker]

    def threshold(self, machine_type: str) -> float:
        return self.config.thresholds.get(machine_type, self.config.threshold)

    # ------------------------------------------------------------- per machine: health, events, decisions
    def _machines_step(
        self,
        vrows: I64,
        row_machine: I64,
        row_ts: F64,
        row_score: F64,
        row_det: npt.NDArray[np.int8],
        uni_arg: I64,
        det: DetectorOutput,
        k_slots: I64,
        k_vals: F64,
        k_rows: I64,
        batches: list[TypeBatch],
    ) -> tuple[MachineScores, list[AnomalyEvent], list[dec.Decision]]:
        M = self.machines
        if vrows.shape[0] == 0:
            return empty_scores(), [], []
        rm = row_machine[vrows]  # sorted by machine, then time
        mr, mstarts = Rounds.from_sorted_groups(rm)
        mids = rm[mstarts]
        t_rows = row_ts[vrows]
        self._update_health(mr, mids, t_rows, row_score[vrows])

        best, arg = group_max(row_score[vrows], mr.col, mids.shape[0])
        m_row = vrows[arg]
        thr_by_type = np.array([self.threshold(t.name) for t in self.index.types])
        thr = thr_by_type[self.index.machine_type[mids]]
        above = best >= thr

        explanations: dict[str, list[Contribution]] = {}
        top = np.full(mids.shape[0], -1, dtype=np.int64)
        if above.any():
            explain = _Explainer(self, row_machine.shape[0], k_rows, k_slots, k_vals, det, batches)
            for i in np.flatnonzero(above).tolist():
                r = int(m_row[i])
                contribs = explain.row(r, int(row_det[r]), int(uni_arg[r]))
                mid = self.index.machine_ids[int(mids[i])]
                explanations[mid] = contribs
                if contribs:
                    info = self.index.types[int(self.index.machine_type[mids[i]])]
                    top[i] = info.feature.get(contribs[0].sensor, -1)

        M.score[mids], M.det[mids] = best, row_det[m_row]
        M.top[mids] = top
        events = self._events(mids, best, thr, above, row_det[m_row], top, explanations)
        health = self._health_now(mids)
        decisions = self._decide(mids, health)
        strategy = M.strategy[mids].astype(np.int8)
        breaks = self._breaks(mids)
        scores = MachineScores(
            machine_ids=[self.index.machine_ids[m] for m in mids.tolist()],
            machine_types=[self.index.types[t].name for t in self.index.machine_type[mids].tolist()],
            ts=M.last_ts[mids],
            score=best,
            is_anomaly=above,
            detector=row_det[m_row],
            health=health,
            rul_s=M.rul[mids],
            rul_lower_s=M.rul_lo[mids],
            rul_upper_s=M.rul_hi[mids],
            strategy=strategy,
            correlation_breaks=breaks,
            explanations=explanations,
        )
        return scores, events, decisions

    def _breaks(self, mids: I64) -> I64:
        """Correlation pairs broken at each machine's last completed window (one pass per type present)."""
        breaks = np.zeros(mids.shape[0], dtype=np.int64)
        types = self.index.machine_type[mids]
        for ti in np.unique(types).tolist():
            tracker = self._corr.get(ti)
            if tracker is not None:
                mine = types == ti
                breaks[mine] = tracker.breaks[self.index.machine_trow[mids[mine]]]
        return breaks

    def _update_health(self, mr: Rounds, mids: I64, t_rows: F64, scores: F64) -> None:
        """EWMA of the row scores per machine (sequential per machine, vectorised across machines) and one
        health sample per `sample_every_s` of stream time into the trend ring."""
        hc, M = self.config.health, self.machines
        grid = mr.spread(scores)
        s_raw = ewma_scan(grid, M.s[mids], hc.score_alpha)
        sl_raw = ewma_scan(grid, M.sl[mids], hc.slow_alpha)
        s2_raw = ewma_scan(grid * grid, M.s2[mids], hc.score_alpha)
        cnt = M.rows[mids][None, :] + np.arange(mr.n_rounds)[:, None] + 1.0
        s_row = np.maximum(
            mr.gather(s_raw / bias_correction(hc.score_alpha, cnt)),
            mr.gather(sl_raw / bias_correction(hc.slow_alpha, cnt)),
        )
        bucket = np.floor(t_rows / hc.sample_every_s)
        bgrid = mr.spread(bucket)
        new_sample = bucket > mr.gather(mr.shift(bgrid, M.bucket[mids]))
        M.s[mids], M.sl[mids], M.s2[mids] = mr.last(s_raw), mr.last(sl_raw), mr.last(s2_raw)
        M.rows[mids] += mr.counts
        M.bucket[mids] = mr.last(bgrid)
        M.last_ts[mids] = mr.last(mr.spread(t_rows))
        if new_sample.any():
            self.health_ring.grow(self.index.n_machines)
            rm = mids[mr.col]
            touched = self.health_ring.push(
                rm[new_sample], t_rows[new_sample], 100.0 * (1.0 - s_row[new_sample])
            )
            self._refit(touched)

    def _refit(self, machines: I64) -> None:
        hc, M, ring = self.config.health, self.machines, self.health_ring
        fit = fit_trend(
            ring.t[machines],
            ring.h[machines].astype(np.float64),
            ring.count[machines],
            M.last_ts[machines],
            hc,
        )
        M.slope[machines], M.se[machines], M.level[machines] = fit.slope, fit.se, fit.level
        M.sig[machines] = fit.significant
        M.rul[machines], M.rul_lo[machines], M.rul_hi[machines] = remaining_life(fit, hc)

    def _score_level(self, mids: I64) -> F64:
        """max(fast, slow) EWMA of the machine's row scores: what health is 100 * (1 - ...) of."""
        hc, M = self.config.health, self.machines
        with np.errstate(divide="ignore", invalid="ignore"):
            fast = M.s[mids] / bias_correction(hc.score_alpha, M.rows[mids])
            slow = M.sl[mids] / bias_correction(hc.slow_alpha, M.rows[mids])
        return np.nan_to_num(np.maximum(fast, slow))

    def _health_now(self, mids: I64) -> F64:
        hc, M = self.config.health, self.machines
        s_bar = self._score_level(mids)
        fit = TrendFit(M.slope[mids], M.level[mids], M.se[mids], M.sig[mids] > 0)
        return health_index(s_bar, trend_penalty(fit, hc))

    def _events(
        self,
        mids: I64,
        score: F64,
        thr: F64,
        above: npt.NDArray[np.bool_],
        det: npt.NDArray[np.int8],
        top: I64,
        explanations: dict[str, list[Contribution]],
    ) -> list[AnomalyEvent]:
        """Start / update / resolved, de-duplicated per machine (vectorised; objects only for emitted)."""
        cfg, M = self.config, self.machines
        active = M.active[mids] > 0
        start = above & ~active
        update = (
            above & active & ((score >= M.ev_score[mids] + cfg.event_min_change) | (top != M.ev_top[mids]))
        )
        quiet = np.where(active & (score < thr * cfg.resolve_ratio), M.quiet[mids] + 1, 0)
        resolved = active & ~above & (quiet >= cfg.resolve_after)
        ts = M.last_ts[mids]
        M.ev_started[mids] = np.where(start, ts, M.ev_started[mids])
        M.ev_peak[mids] = np.where(start, score, np.where(active, np.maximum(M.ev_peak[mids], score), 0.0))
        emit = start | update
        M.ev_score[mids] = np.where(emit, score, M.ev_score[mids])
        M.ev_top[mids] = np.where(emit, top, M.ev_top[mids])
        M.active[mids] = np.where(resolved, 0.0, np.where(start, 1.0, M.active[mids]))
        M.quiet[mids] = np.where(resolved, 0, quiet)
        out: list[AnomalyEvent] = []
        for i in np.flatnonzero(emit | resolved).tolist():
            m = int(mids[i])
            mid = self.index.machine_ids[m]
            kind: EventKind = "start" if start[i] else ("update" if update[i] else "resolved")
            out.append(
                AnomalyEvent(
                    machine_id=mid,
                    machine_type=self.index.types[int(self.index.machine_type[m])].name,
                    kind=kind,
                    ts=to_datetime(float(ts[i])),
                    started_at=to_datetime(float(M.ev_started[m])),
                    score=float(score[i]),
                    peak_score=float(M.ev_peak[m]),
                    threshold=float(thr[i]),
                    detector=DETECTORS[int(det[i])],
                    explanation=explanations.get(mid, []),
                )
            )
        return out

    def _headroom(self, mids: I64) -> tuple[F64, I64]:
        """Per machine the smallest (hi - level) / (hi - lo) over its sensors with limits, and that sensor."""
        room = np.full(mids.shape[0], np.nan)
        feat = np.full(mids.shape[0], -1, dtype=np.int64)
        types = self.index.machine_type[mids]
        for ti in np.unique(types).tolist():
            mine = np.flatnonzero(types == ti)
            slots = self.index.types[ti].table()[self.index.machine_trow[mids[mine]]]
            if slots.shape[1] == 0:
                continue
            s = np.maximum(slots, 0)
            st = self.series.take(s.ravel())
            frac = ((st.hi - st.level()) / (st.hi - st.lo)).reshape(slots.shape)
            frac = np.where((slots >= 0) & np.isfinite(frac), frac, np.inf)
            j = np.argmin(frac, axis=1)
            v = frac[np.arange(mine.shape[0]), j]
            ok = np.isfinite(v)
            room[mine] = np.where(ok, v, np.nan)
            feat[mine] = np.where(ok, j, -1)
        return room, feat

    def _assessment(self, mids: I64, health: F64) -> tuple[dec.Assessment, F64]:
        hc, M = self.config.health, self.machines
        room, feat = self._headroom(mids)
        M.headroom[mids], M.headroom_feat[mids] = room, feat
        bc = bias_correction(hc.score_alpha, M.rows[mids])
        mean = np.nan_to_num(M.s[mids] / bc)
        sd = np.sqrt(np.maximum(np.nan_to_num(M.s2[mids] / bc) - mean * mean, 0.0))
        breaks = self._breaks(mids)
        trend = np.where(M.sig[mids] > 0, M.slope[mids] * 3600.0, 0.0)
        a = dec.assess(self.config.decisions, health, M.rul[mids], breaks, room, sd, trend)
        return a, sd

    def _decide(self, mids: I64, health: F64) -> list[dec.Decision]:
        dcfg, M = self.config.decisions, self.machines
        a, sd = self._assessment(mids, health)
        current = M.strategy[mids].astype(np.int64)
        now = M.last_ts[mids]
        new = dec.choose(dcfg, current, M.since[mids], now, M.rows[mids], a)
        conf = dec.confidence(dcfg, new, a, M.rows[mids])
        changed = new != current
        M.strategy[mids] = new
        M.since[mids] = np.where(changed, now, M.since[mids])
        M.conf[mids], M.risk[mids], M.opp[mids], M.stab[mids] = conf, a.risk, a.opportunity, a.stability
        return [
            self._decision_of(int(m), float(h), float(s))
            for m, h, s in zip(
                mids[changed].tolist(), health[changed].tolist(), sd[changed].tolist(), strict=True
            )
        ]

    def _decisions_of(self, ms: I64, health: F64, score_sd: F64) -> dict[str, dec.Decision]:
        """`_decision_of` for many machines: the arrays are read once, the objects built in one loop."""
        M, idx, cfg = self.machines, self.index, self.config.decisions
        types = idx.machine_type[ms].tolist()
        trows = idx.machine_trow[ms].tolist()
        cols = (
            M.top, M.headroom_feat, M.score, M.det, M.rul, M.rul_lo, M.rul_hi, M.headroom, M.slope,
            M.strategy, M.risk, M.opp, M.stab, M.conf, M.last_ts,
        )  # fmt: skip
        top, hf, score, det, rul, rlo, rhi, room, slope, strat, risk, opp, stab, conf, ts = (
            c[ms].tolist() for c in cols
        )
        hl, sdl = health.tolist(), score_sd.tolist()
        out: dict[str, dec.Decision] = {}
        for i, m in enumerate(ms.tolist()):
            info = idx.types[types[i]]
            tracker = self._corr.get(info.index)
            t, h = int(top[i]), int(hf[i])
            ev = dec.Evidence(
                health=hl[i],
                score=score[i],
                detector=DETECTORS[int(det[i])],
                top_sensor=info.sensors[t] if t >= 0 else None,
                rul_s=rul[i],
                rul_lower_s=rlo[i],
                rul_upper_s=rhi[i],
                breaks=int(tracker.breaks[trows[i]]) if tracker is not None else 0,
                headroom=room[i],
                headroom_sensor=info.sensors[h] if h >= 0 else None,
                score_sd=sdl[i],
                trend_per_h=slope[i] * 3600.0,
            )
            strategy = int(strat[i])
            mid = idx.machine_ids[m]
            out[mid] = dec.Decision(
                machine_id=mid,
                ts=to_datetime(ts[i]),
                strategy=dec.STRATEGIES[strategy],
                confidence=conf[i],
                risk=risk[i],
                opportunity=opp[i],
                stability=stab[i],
                reasons=dec.reasons(cfg, strategy, risk[i], opp[i], stab[i], ev),
            )
        return out

    def _decision_of(self, m: int, health: float, score_sd: float) -> dec.Decision:
        M, idx = self.machines, self.index
        info = idx.types[int(idx.machine_type[m])]
        top, hf = int(M.top[m]), int(M.headroom_feat[m])
        ev = dec.Evidence(
            health=health,
            score=float(M.score[m]),
            detector=DETECTORS[int(M.det[m])],
            top_sensor=info.sensors[top] if top >= 0 else None,
            rul_s=float(M.rul[m]),
            rul_lower_s=float(M.rul_lo[m]),
            rul_upper_s=float(M.rul_hi[m]),
            breaks=int(self._corr[info.index].breaks[int(idx.machine_trow[m])])
            if info.index in self._corr
            else 0,
            headroom=float(M.headroom[m]),
            headroom_sensor=info.sensors[hf] if hf >= 0 else None,
            score_sd=score_sd,
            trend_per_h=float(M.slope[m]) * 3600.0,
        )
        strategy = int(M.strategy[m])
        risk, opp, stab = float(M.risk[m]), float(M.opp[m]), float(M.stab[m])
        return dec.Decision(
            machine_id=idx.machine_ids[m],
            ts=to_datetime(float(M.last_ts[m])),
            strategy=dec.STRATEGIES[strategy],
            confidence=float(M.conf[m]),
            risk=risk,
            opportunity=opp,
            stability=stab,
            reasons=dec.reasons(self.config.decisions, strategy, risk, opp, stab, ev),
        )


def empty_scores() -> MachineScores:
    z = np.zeros(0)
    return MachineScores(
        [],
        [],
        z,
        z,
        np.zeros(0, dtype=np.bool_),
        np.zeros(0, dtype=np.int8),
        z,
        z,
        z,
        z,
        np.zeros(0, dtype=np.int8),
        np.zeros(0, dtype=np.int64),
    )


class _Explainer:
    """Explanations for the anomalous rows of one batch (index structures built once, lazily)."""

    def __init__(
        self,
        engine: MachineSteps,
        n_rows: int,
        k_rows: I64,
        k_slots: I64,
        k_vals: F64,
        det: DetectorOutput,
        batches: list[TypeBatch],
    ) -> None:
        self.engine = engine
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
        eng = self.engine
        top = eng.config.explain_top
        b = int(self.batch_of_row[r])
        if detector == MULTIVARIATE and b >= 0:
            tb = self.batches[b]
            if tb.model is not None and tb.feat_map is not None:
                pos = int(self.pos_of_row[r])
                slots = tb.info.table()[int(tb.trow[pos])]
                return explain.multivariate(
                    tb.model,
                    tb.feat_map,
                    tb.model_input()[pos],
                    tb.V[pos],
                    slots,
                    eng.index.series_sensor,
                    eng.series,
                    eng.config.detectors,
                    top,
                )
        lo = int(np.searchsorted(self.sorted_rows, r, side="left"))
        hi = int(np.searchsorted(self.sorted_rows, r, side="right"))
        return explain.univariate(
            self.order[lo:hi], eng.index.series_sensor, self.k_slots, self.k_vals, self.det, eng.series, top
        )
