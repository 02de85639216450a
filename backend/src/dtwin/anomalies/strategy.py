"""Each machine's operating strategy as the scoring engine tracks it: the assessment (risk, opportunity,
stability) from its health, RUL, correlation breaks, headroom to its operating limits and score spread, the
strategy chosen with hysteresis, and a `Decision` with reasons when it changes or is asked for. The rules are
in `decisions.py`; this is the state that feeds them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dtwin.anomalies import decisions as dec
from dtwin.anomalies.config import EngineConfig
from dtwin.anomalies.correlation import CorrelationRings
from dtwin.anomalies.detectors import DETECTORS
from dtwin.anomalies.fleet import FleetState
from dtwin.anomalies.machine_health import HealthTracker
from dtwin.anomalies.results import to_datetime, to_datetimes
from dtwin.anomalies.scan import F64, I64, bias_correction


class StrategyTracker:
    def __init__(
        self, config: EngineConfig, fleet: FleetState, health: HealthTracker, correlations: CorrelationRings
    ) -> None:
        self.config = config
        self.fleet = fleet
        self.health = health
        self.correlations = correlations

    def _headroom(self, ms: I64) -> tuple[F64, I64]:
        """Per machine the smallest (hi - level) / (hi - lo) over its sensors with limits, and that sensor."""
        idx = self.fleet.index
        room = np.full(ms.shape[0], np.nan)
        feat = np.full(ms.shape[0], -1, dtype=np.int64)
        types = idx.machine_type[ms]
        for ti in np.unique(types).tolist():
            mine = np.flatnonzero(types == ti)
            slots = idx.types[ti].table()[idx.machine_trow[ms[mine]]]
            if slots.shape[1] == 0:
                continue
            s = np.maximum(slots, 0).ravel()
            series = self.fleet.series  # the four fields it needs, not the whole state of every series
            hi, lo = series.hi[s], series.lo[s]
            with np.errstate(divide="ignore", invalid="ignore"):
                level = series.lvl[s] / (1.0 - series.q_lvl[s])
                frac = ((hi - level) / (hi - lo)).reshape(slots.shape)
            frac = np.where((slots >= 0) & np.isfinite(frac), frac, np.inf)
            j = np.argmin(frac, axis=1)
            v = frac[np.arange(mine.shape[0]), j]
            ok = np.isfinite(v)
            room[mine] = np.where(ok, v, np.nan)
            feat[mine] = np.where(ok, j, -1)
        return room, feat

    def _assessment(self, ms: I64, health: F64) -> tuple[dec.Assessment, F64]:
        M = self.fleet.machines
        room, feat = self._headroom(ms)
        M.headroom[ms], M.headroom_feat[ms] = room, feat
        sd = self.health.score_sd(ms)
        breaks = self.correlations.breaks(self.fleet.index, ms)
        trend = np.where(M.sig[ms] > 0, M.slope[ms] * 3600.0, 0.0)
        a = dec.assess(self.config.decisions, health, M.rul[ms], breaks, room, sd, trend)
        return a, sd

    def decide(self, ms: I64, health: F64) -> list[dec.Decision]:
        """Assess the batch's machines, choose their strategies; the decisions of those that changed."""
        dcfg, M = self.config.decisions, self.fleet.machines
        a, sd = self._assessment(ms, health)
        current = M.strategy[ms].astype(np.int64)
        now = M.last_ts[ms]
        new = dec.choose(dcfg, current, M.since[ms], now, M.rows[ms], a)
        conf = dec.confidence(dcfg, new, a, M.rows[ms])
        changed = new != current
        M.strategy[ms] = new
        M.since[ms] = np.where(changed, now, M.since[ms])
        M.conf[ms], M.risk[ms], M.opp[ms], M.stab[ms] = conf, a.risk, a.opportunity, a.stability
        return [
            self._decision_of(int(m), float(h), float(s))
            for m, h, s in zip(
                ms[changed].tolist(), health[changed].tolist(), sd[changed].tolist(), strict=True
            )
        ]

    def decisions(self, machine_ids: Sequence[str]) -> dict[str, dec.Decision]:
        """`decision()` for many machines at once (machines without a decision yet are left out)."""
        _, ms = self.fleet.slots_of(machine_ids)
        keep = self.fleet.machines.strategy[ms] >= 0
        ms = ms[keep]
        if ms.shape[0] == 0:
            return {}
        return self._decisions_of(ms, self.health.current(ms), self.health.score_sd(ms))

    def decision(self, machine_id: str) -> dec.Decision | None:
        """The machine's current strategy with fresh reasons (None before its first decision)."""
        m = self.fleet.index.machine(machine_id)
        M = self.fleet.machines
        if m is None or M.strategy[m] < 0:
            return None
        ids = np.array([m], dtype=np.int64)
        bc = bias_correction(self.config.health.score_alpha, M.rows[ids])
        mean = float(np.nan_to_num(M.s[ids] / bc)[0])
        sd = math.sqrt(max(float(np.nan_to_num(M.s2[ids] / bc)[0]) - mean * mean, 0.0))
        return self._decision_of(m, float(self.health.current(ids)[0]), sd)

    def _decisions_of(self, ms: I64, health: F64, score_sd: F64) -> dict[str, dec.Decision]:
        """`_decision_of` for many machines: the arrays are read once, the objects built in one loop."""
        M, idx, cfg = self.fleet.machines, self.fleet.index, self.config.decisions
        types = idx.machine_type[ms].tolist()
        cols = (
            M.top, M.headroom_feat, M.score, M.det, M.rul, M.rul_lo, M.rul_hi, M.headroom, M.slope,
            M.strategy, M.risk, M.opp, M.stab, M.conf, M.last_ts,
        )  # fmt: skip
        top, hf, score, det, rul, rlo, rhi, room, slope, strat, risk, opp, stab, conf, ts = (
            c[ms].tolist() for c in cols
        )
        hl, sdl, at = health.tolist(), score_sd.tolist(), to_datetimes(ts)
        breaks = self.correlations.breaks(idx, ms).tolist()
        out: dict[str, dec.Decision] = {}
        for i, m in enumerate(ms.tolist()):
            info = idx.types[types[i]]
            t, h = int(top[i]), int(hf[i])
            ev = dec.Evidence(
                health=hl[i],
                score=score[i],
                detector=DETECTORS[int(det[i])],
                top_sensor=info.sensors[t] if t >= 0 else None,
                rul_s=rul[i],
                rul_lower_s=rlo[i],
                rul_upper_s=rhi[i],
                breaks=breaks[i],
                headroom=room[i],
                headroom_sensor=info.sensors[h] if h >= 0 else None,
                score_sd=sdl[i],
                trend_per_h=slope[i] * 3600.0,
            )
            strategy = int(strat[i])
            machine_id = idx.machine_ids[m]
            out[machine_id] = dec.Decision(
                machine_id=machine_id,
                ts=at[i],
                strategy=dec.STRATEGIES[strategy],
                confidence=conf[i],
                risk=risk[i],
                opportunity=opp[i],
                stability=stab[i],
                reasons=dec.reasons(cfg, strategy, risk[i], opp[i], stab[i], ev),
            )
        return out

    def _decision_of(self, m: int, health: float, score_sd: float) -> dec.Decision:
        M, idx = self.fleet.machines, self.fleet.index
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
            breaks=self.correlations.breaks_of(info.index, int(idx.machine_trow[m])),
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
