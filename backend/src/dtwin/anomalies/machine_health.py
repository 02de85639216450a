"""Each machine's health as the scoring engine tracks it: EWMAs of its row scores, one health sample per
`sample_every_s` of stream time into its ring, the trend and RUL refitted when a sample arrives, and the
health reported from them. The formulas are in `health.py`; this is the state that feeds them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dtwin.anomalies.fleet import FleetState
from dtwin.anomalies.health import (
    HealthConfig,
    TrendFit,
    fit_trend,
    health_index,
    remaining_life,
    trend_penalty,
)
from dtwin.anomalies.results import MachineHealth, rul_of, to_datetime, to_datetimes
from dtwin.anomalies.scan import F64, I64, Rounds, bias_correction, ewma_scan


class HealthTracker:
    def __init__(self, config: HealthConfig, fleet: FleetState) -> None:
        self.config = config
        self.fleet = fleet

    def update(self, mr: Rounds, ms: I64, t_rows: F64, scores: F64) -> None:
        """EWMA of the row scores per machine (sequential per machine, vectorised across machines) and one
        health sample per `sample_every_s` of stream time into the trend ring."""
        hc, M = self.config, self.fleet.machines
        grid = mr.spread(scores)
        s_raw = ewma_scan(grid, M.s[ms], hc.score_alpha)
        sl_raw = ewma_scan(grid, M.sl[ms], hc.slow_alpha)
        s2_raw = ewma_scan(grid * grid, M.s2[ms], hc.score_alpha)
        cnt = M.rows[ms][None, :] + np.arange(mr.n_rounds)[:, None] + 1.0
        s_row = np.maximum(
            mr.gather(s_raw / bias_correction(hc.score_alpha, cnt)),
            mr.gather(sl_raw / bias_correction(hc.slow_alpha, cnt)),
        )
        bucket = np.floor(t_rows / hc.sample_every_s)
        bgrid = mr.spread(bucket)
        new_sample = bucket > mr.gather(mr.shift(bgrid, M.bucket[ms]))
        M.s[ms], M.sl[ms], M.s2[ms] = mr.last(s_raw), mr.last(sl_raw), mr.last(s2_raw)
        M.rows[ms] += mr.counts
        M.bucket[ms] = mr.last(bgrid)
        M.last_ts[ms] = mr.last(mr.spread(t_rows))
        if new_sample.any():
            ring = self.fleet.health_ring
            ring.grow(self.fleet.index.n_machines)
            rm = ms[mr.col]
            touched = ring.push(rm[new_sample], t_rows[new_sample], 100.0 * (1.0 - s_row[new_sample]))
            self._refit(touched)

    def _refit(self, ms: I64) -> None:
        hc, M, ring = self.config, self.fleet.machines, self.fleet.health_ring
        t, h, count, now = ring.t[ms], ring.h[ms].astype(np.float64), ring.count[ms], M.last_ts[ms]
        fit = fit_trend(t, h, count, now, hc)
        M.slope[ms], M.se[ms], M.level[ms] = fit.slope, fit.se, fit.level
        M.sig[ms] = fit.significant
        M.rul[ms], M.rul_lo[ms], M.rul_hi[ms] = remaining_life(t, h, count, now, fit, hc, self.current(ms))

    def score_level(self, ms: I64) -> F64:
        """max(fast, slow) EWMA of the machine's row scores: what health is 100 * (1 - ...) of."""
        hc, M = self.config, self.fleet.machines
        with np.errstate(divide="ignore", invalid="ignore"):
            fast = M.s[ms] / bias_correction(hc.score_alpha, M.rows[ms])
            slow = M.sl[ms] / bias_correction(hc.slow_alpha, M.rows[ms])
        return np.nan_to_num(np.maximum(fast, slow))

    def current(self, ms: I64) -> F64:
        """Health now: from the score level, minus the trend's penalty."""
        M = self.fleet.machines
        fit = TrendFit(M.slope[ms], M.level[ms], M.se[ms], M.sig[ms] > 0)
        return health_index(self.score_level(ms), trend_penalty(fit, self.config))

    def score_sd(self, ms: I64) -> F64:
        """Standard deviation of the machine's row scores (from the fast EWMAs of score and squared score)."""
        M = self.fleet.machines
        bc = bias_correction(self.config.score_alpha, M.rows[ms])
        mean = np.nan_to_num(M.s[ms] / bc)
        sd: F64 = np.sqrt(np.maximum(np.nan_to_num(M.s2[ms] / bc) - mean * mean, 0.0))
        return sd

    def health(self, machine_id: str) -> MachineHealth | None:
        """The machine's health, trend and RUL (None before its first scored row)."""
        m = self.fleet.index.machine(machine_id)
        M = self.fleet.machines
        if m is None or M.rows[m] == 0:
            return None
        ids = np.array([m], dtype=np.int64)
        return MachineHealth(
            machine_id=machine_id,
            ts=to_datetime(float(M.last_ts[m])),
            health=float(self.current(ids)[0]),
            score_ewma=float(self.score_level(ids)[0]),
            trend_per_hour=float(M.slope[m]) * 3600.0,
            trend_significant=bool(M.sig[m] > 0),
            rul=rul_of(float(M.rul[m]), float(M.rul_lo[m]), float(M.rul_hi[m])),
        )

    def healths(self, machine_ids: Sequence[str]) -> dict[str, MachineHealth]:
        """`health()` for many machines at once, vectorised (what the consumer stage calls per batch)."""
        ids, ms = self.fleet.slots_of(machine_ids)
        M = self.fleet.machines
        keep = M.rows[ms] > 0
        ids, ms = [i for i, k in zip(ids, keep.tolist(), strict=True) if k], ms[keep]
        if not ids:
            return {}
        health = self.current(ms).tolist()
        level = self.score_level(ms).tolist()
        ts, slope, sig = to_datetimes(M.last_ts[ms].tolist()), M.slope[ms].tolist(), (M.sig[ms] > 0).tolist()
        rul, lo, hi = M.rul[ms].tolist(), M.rul_lo[ms].tolist(), M.rul_hi[ms].tolist()
        return {
            machine_id: MachineHealth(
                machine_id=machine_id,
                ts=ts[i],
                health=health[i],
                score_ewma=level[i],
                trend_per_hour=slope[i] * 3600.0,
                trend_significant=sig[i],
                rul=rul_of(rul[i], lo[i], hi[i]),
            )
            for i, machine_id in enumerate(ids)
        }
