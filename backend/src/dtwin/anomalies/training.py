"""The type models in use and the training that feeds them: each type's healthy vectors go into a bounded
buffer; when the training policy says so the buffer is handed out as a job (`due`), fitted elsewhere (never on
the event loop) and the model handed back (`install`)."""

from __future__ import annotations

import numpy as np

from dtwin.anomalies.batch import TypeBatch
from dtwin.anomalies.config import EngineConfig
from dtwin.anomalies.fleet import FleetState
from dtwin.anomalies.index import Remap
from dtwin.anomalies.scan import F64, Bool, Rounds, squash
from dtwin.anomalies.type_model import TrainingBuffer, TrainingJob, TypeModel


class TypeModels:
    """Installed models and training buffers by type index (`SeriesIndex.types`)."""

    def __init__(self, config: EngineConfig, fleet: FleetState) -> None:
        self.config = config
        self.fleet = fleet
        self.installed: dict[int, TypeModel] = {}
        self.buffers: dict[int, TrainingBuffer] = {}

    def collect(self, tb: TypeBatch, uni_score: F64, mv_ev: F64, exclude: Bool | None = None) -> None:
        """Offer the batch's healthy vectors of a type (low univariate and model score, complete, past the
        detectors' warm-up, not in `exclude`: rows settling after a command) to its training buffer. Reads
        the series' sample counts before the batch."""
        pol, info = self.config.training, tb.info
        ti, f = info.index, info.n_features
        if f < pol.min_features:
            return
        machine_rows = tb.trow
        buf = self.buffers.get(ti)
        if buf is None:
            buf = self.buffers[ti] = TrainingBuffer(f, pol.buffer_size)
        buf.widen(f)
        slots = info.table()[machine_rows]
        # samples each row's series had seen by that row: before the batch + the row's rank in the batch
        rank = Rounds.from_sorted_groups(machine_rows)[0].rank
        seen = np.where(slots >= 0, self.fleet.series.n[np.maximum(slots, 0)], -np.inf).min(axis=1)
        warm = seen + rank + 1
        mv_score = squash(mv_ev[tb.rows], self.config.detectors.power)
        healthy = (
            (uni_score[tb.rows] < pol.healthy_score)
            & (mv_score < pol.healthy_score)
            & np.isfinite(tb.Ds).all(axis=1)
            & (warm >= self.config.detectors.warmup)
        )
        if exclude is not None:
            healthy &= ~exclude
        buf.offer(tb.Ds[healthy], pol.sample_stride)

    def due(self, now: float) -> list[TrainingJob]:
        """Types whose model should be (re)fitted at stream time `now`, with their healthy vectors. Each job
        is handed out once (again after `pending_timeout_s` of stream time without `install`)."""
        jobs: list[TrainingJob] = []
        pol = self.config.training
        for ti, buf in self.buffers.items():
            if not buf.due(pol, now, ti in self.installed):
                continue
            info = self.fleet.index.types[ti]
            sensors = tuple(info.sensors[: buf.n_features])
            ranges = tuple(self.fleet.range(info.name, s) for s in sensors)
            buf.pending_since = now
            buf.fitted_size = buf.size
            jobs.append(TrainingJob(info.name, buf.snapshot(), sensors, ranges))
        return jobs

    def install(self, model: TypeModel, now: float) -> None:
        """Use `model` for its machine type from the next batch on (sensors are matched by name)."""
        info = self.fleet.index.ensure_type(model.machine_type)
        if not info.sensors:  # a type not seen yet (model loaded at start-up): keep the model's sensor order
            for s in model.sensors:
                info.add_sensor(s)
        self.installed[info.index] = model
        buf = self.buffers.get(info.index)
        if buf is not None:
            buf.pending_since = None
            buf.since_fit = 0
            buf.fitted_at = now

    def of_type(self, machine_type: str) -> TypeModel | None:
        info = self.fleet.index.type_info(machine_type)
        return self.installed.get(info.index) if info else None

    def remap(self, r: Remap) -> None:
        """Follow a compaction: models by their new type index; buffers of types that kept machines."""
        installed, buffers = self.installed, self.buffers
        self.installed, self.buffers = {}, {}
        for new, old in enumerate(r.types):
            if old in installed:
                self.installed[new] = installed[old]
            if r.rows[new].shape[0] == 0:  # kept for its model only: the buffer starts again
                continue
            if old in buffers:
                self.buffers[new] = buffers[old]

    @property
    def nbytes(self) -> int:
        return sum(int(b.data.nbytes) for b in self.buffers.values())
