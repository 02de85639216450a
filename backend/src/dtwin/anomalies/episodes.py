"""Anomaly episodes per machine: an alarming row of a machine opens one (`start`; the engine decides which
rows alarm: EngineConfig.alarm_score), a markedly higher score or another top sensor re-emits it (`update`),
and it closes (`resolved`) after a few batches with the machine's level below its type's threshold (the
level, not the calibrated score, which decays while a fault persists); so an alarm is one event, not one
per batch."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dtwin.anomalies.config import EngineConfig
from dtwin.anomalies.detectors import DETECTORS
from dtwin.anomalies.fleet import FleetState
from dtwin.anomalies.results import AnomalyEvent, Contribution, EventKind, to_datetime
from dtwin.anomalies.scan import F64, I64


class AnomalyEpisodes:
    def __init__(self, config: EngineConfig, fleet: FleetState) -> None:
        self.config = config
        self.fleet = fleet

    def threshold(self, machine_type: str) -> float:
        return self.config.thresholds.get(machine_type, self.config.threshold)

    def thresholds(self, ms: I64) -> F64:
        """The anomaly threshold of each machine's type."""
        idx = self.fleet.index
        by_type = np.array([self.threshold(t.name) for t in idx.types])
        out: F64 = by_type[idx.machine_type[ms]]
        return out

    def step(
        self,
        ms: I64,
        score: F64,
        thr: F64,
        above: npt.NDArray[np.bool_],
        det: npt.NDArray[np.int8],
        top: I64,
        explanations: dict[str, list[Contribution]],
    ) -> list[AnomalyEvent]:
        """Start / update / resolved, de-duplicated per machine (vectorised; objects only for emitted)."""
        cfg, M, idx = self.config, self.fleet.machines, self.fleet.index
        active = M.active[ms] > 0
        start = above & ~active
        update = above & active & ((score >= M.ev_score[ms] + cfg.event_min_change) | (top != M.ev_top[ms]))
        quiet = np.where(active & (score < thr * cfg.resolve_ratio), M.quiet[ms] + 1, 0)
        resolved = active & ~above & (quiet >= cfg.resolve_after)
        ts = M.last_ts[ms]
        M.ev_started[ms] = np.where(start, ts, M.ev_started[ms])
        M.ev_peak[ms] = np.where(start, score, np.where(active, np.maximum(M.ev_peak[ms], score), 0.0))
        emit = start | update
        M.ev_score[ms] = np.where(emit, score, M.ev_score[ms])
        M.ev_top[ms] = np.where(emit, top, M.ev_top[ms])
        M.active[ms] = np.where(resolved, 0.0, np.where(start, 1.0, M.active[ms]))
        M.quiet[ms] = np.where(resolved, 0, quiet)
        out: list[AnomalyEvent] = []
        for i in np.flatnonzero(emit | resolved).tolist():
            m = int(ms[i])
            machine_id = idx.machine_ids[m]
            kind: EventKind = "start" if start[i] else ("update" if update[i] else "resolved")
            out.append(
                AnomalyEvent(
                    machine_id=machine_id,
                    machine_type=idx.types[int(idx.machine_type[m])].name,
                    kind=kind,
                    ts=to_datetime(float(ts[i])),
                    started_at=to_datetime(float(M.ev_started[m])),
                    score=float(score[i]),
                    peak_score=float(M.ev_peak[m]),
                    threshold=float(thr[i]),
                    detector=DETECTORS[int(det[i])],
                    explanation=explanations.get(machine_id, []),
                )
            )
        return out
