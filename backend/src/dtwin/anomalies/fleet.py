"""The scoring engine's state of the fleet: which series and machines it knows (`SeriesIndex`), their state
arrays (per series `SeriesState`, per machine `MachineState`, the health-sample rings) and each series'
operating limits; registering, finding idle machines and compacting. No scoring here."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dtwin.anomalies.calibration import CalibrationState
from dtwin.anomalies.config import EngineConfig, LimitsSource, Range, VersionedLimits
from dtwin.anomalies.detectors import SeriesState
from dtwin.anomalies.ensemble import EnsembleState
from dtwin.anomalies.health import HealthRing
from dtwin.anomalies.index import Remap, SeriesIndex
from dtwin.anomalies.scan import F64, I64, SoA
from dtwin.anomalies.seasonal import SeasonalProfiles
from dtwin.anomalies.settling import SettleState


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


class FleetState:
    """The index and the state arrays it numbers. `series` and `machines` are replaced by `compact`: hold
    the `FleetState`, never the arrays, across batches."""

    def __init__(
        self,
        config: EngineConfig,
        limits: LimitsSource | None = None,
        unscored: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._limits = limits
        self._versioned = limits if isinstance(limits, VersionedLimits) else None
        self._limits_version = self._versioned.version if self._versioned is not None else 0
        self.series = SeriesState.empty(0)
        self.machines = MachineState.empty(0)
        self.settle = SettleState.empty(0)  # per series: the settling window after a command
        self.index = SeriesIndex(
            on_new_series=self._init_series, max_features=config.max_sensors_per_type, unscored=unscored
        )
        self.health_ring = HealthRing(config.health.window)
        self.calibration = CalibrationState()  # per machine: the survival histogram of its row evidence
        self.ensemble = EnsembleState()  # ...or of each detector family's and the combined (ensemble.py)
        # rows of daily/weekly profiles, for the series sampled every minute or slower
        self.seasonal = SeasonalProfiles(config.detectors.seasonal.max_series)

    # ------------------------------------------------------------------ operating limits
    def range(self, machine_type: str, sensor: str) -> Range | None:
        src = self._limits
        if src is None:
            return None
        if callable(src):
            return src(machine_type, sensor)
        return src.get(machine_type, {}).get(sensor)

    def _init_series(self, slot: int, machine_type: str, sensor: str) -> None:
        self.series.grow(slot + 1)
        self.settle.grow(slot + 1)
        r = self.range(machine_type, sensor)
        if r is not None and r[1] > r[0]:
            self.series.lo[slot], self.series.hi[slot] = r

    def refresh_limits(self) -> None:
        """Read the operating range of every known series again: one lookup per (type, sensor), applied to
        all that type's machines at once. A range that is gone turns the limit detector off there."""
        lo, hi = self.series.lo, self.series.hi
        for info in self.index.types:
            table = info.table()
            for f, sensor in enumerate(info.sensors):
                col = table[:, f]
                col = col[col >= 0]
                r = self.range(info.name, sensor)
                if r is not None and r[1] > r[0]:
                    lo[col], hi[col] = r
                else:
                    lo[col] = hi[col] = math.nan

    def sync_limits(self) -> None:
        """`refresh_limits` if the versioned limits source moved since the last look."""
        src = self._versioned
        if src is not None and src.version != self._limits_version:
            self._limits_version = src.version
            self.refresh_limits()

    # ------------------------------------------------------------------ machines and series
    def register(self, machine_id: str, machine_type: str, sensors: Sequence[str]) -> I64:
        """Slots of a machine's series (created on first use; -1: a name beyond the type's sensor limit)."""
        slots = self.index.slots_for(machine_id, machine_type, sensors)
        self.machines.grow(self.index.n_machines)
        return slots

    def slots_of(self, machine_ids: Sequence[str]) -> tuple[list[str], I64]:
        """The known machines among `machine_ids` and their machine slots."""
        found = [
            (machine_id, m) for machine_id in machine_ids if (m := self.index.machine(machine_id)) is not None
        ]
        return [machine_id for machine_id, _ in found], np.array([m for _, m in found], dtype=np.int64)

    def idle(self, now: float, idle_s: float) -> list[str]:
        """Live machines whose last message is more than `idle_s` before `now` (on the engine's clock)."""
        idx = self.index
        n = idx.n_machines
        self.machines.grow(n)
        idle = np.flatnonzero(idx.machine_live[:n] & (self.machines.seen[:n] < now - idle_s))
        return [idx.machine_ids[m] for m in idle.tolist()]

    def needs_compaction(self) -> bool:
        """A quarter of the machine or series slots are dead."""
        idx = self.index
        return 4 * idx.n_dead >= idx.n_machines or 4 * idx.n_dead_series >= idx.n_series

    def compact(self, keep_types: set[int]) -> Remap:
        """Gather the index and every state array down to the live machines and series (and the types still
        in use or in `keep_types`); returns the remap for the per-type state kept elsewhere."""
        idx = self.index
        self.series.grow(idx.n_series)
        self.settle.grow(idx.n_series)
        self.machines.grow(idx.n_machines)
        self.health_ring.grow(idx.n_machines)
        # the calibration in use (the other stays empty)
        calibrations = [c for c in (self.calibration, self.ensemble) if c.q.shape[0]]
        for c in calibrations:
            c.grow(idx.n_machines)
        r = idx.compact(keep_types)
        kept = np.zeros(self.series.capacity, dtype=np.bool_)
        kept[r.series] = True
        self.seasonal.release(self.series.srow[~kept].astype(np.int64))  # forgotten series' profiles
        self.series = self.series.take(r.series)
        self.settle = self.settle.take(r.series)
        self.machines = self.machines.take(r.machines)
        self.health_ring.take(r.machines)
        for c in calibrations:
            c.take(r.machines)
        return r

    @property
    def nbytes(self) -> int:
        """Bytes held in the state arrays and the index's arrays (its dictionaries come on top)."""
        total = self.series.nbytes + self.settle.nbytes + self.machines.nbytes + self.health_ring.nbytes
        total += self.calibration.nbytes + self.ensemble.nbytes + self.seasonal.nbytes
        idx = self.index
        total += sum(
            int(a.nbytes)
            for a in (
                idx.series_machine,
                idx.series_feature,
                idx.machine_type,
                idx.machine_trow,
                idx.machine_nseries,
                idx.machine_live,
            )
        )
        total += sum(int(t.slots.nbytes) for t in idx.types)
        return total
