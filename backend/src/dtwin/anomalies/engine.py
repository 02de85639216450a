"""The scoring engine: ties detectors, type models, health/RUL, correlations and decisions together for a
stream of telemetry batches. Synchronous and CPU-only (no I/O); one instance per consumer process, called
once per batch. Model fitting is handed out (`training_due`) and handed back (`install_model`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from dtwin.anomalies import decisions as dec
from dtwin.anomalies.config import EngineConfig, LimitsSource, Range, VersionedLimits
from dtwin.anomalies.correlation import CorrelationTracker, window_correlation
from dtwin.anomalies.detectors import (
    MULTIVARIATE,
    DetectorOutput,
    SeriesState,
    run_detectors,
)
from dtwin.anomalies.health import (
    HealthRing,
)
from dtwin.anomalies.index import SeriesIndex
from dtwin.anomalies.machines import MachineState, MachineSteps, TypeBatch
from dtwin.anomalies.results import (
    BatchScores,
    CorrelationBreak,
    CorrelationReport,
    MachineHealth,
    ReadingScores,
    RowScores,
    rul_of,
    to_datetime,
)
from dtwin.anomalies.scan import F64, I64, Rounds, bias_correction, group_max, squash
from dtwin.anomalies.type_model import TrainingBuffer, TrainingJob, TypeModel
from dtwin.contracts.telemetry import Telemetry

__all__ = ["EngineConfig", "LimitsSource", "ScoringEngine"]


class ScoringEngine(MachineSteps):
    """Streaming anomaly scoring for a fleet. Call `score_batch` once per consumer batch (not thread-safe).

    `limits` gives operating ranges: a mapping machine_type -> sensor -> (lo, hi) or a callable
    (machine_type, sensor) -> (lo, hi) | None, read when a series is first seen; a `VersionedLimits` is read
    again for every known series when its version moves (checked once per batch).

    Memory is bounded per machine: a type takes at most `config.max_sensors_per_type` sensor names (readings
    of further names are ignored and counted in `refused_readings`), correlations track the first
    `correlation.max_features` of them. Machines leave by `forget` (removed twins) or `evict_idle` (silent for
    a while, on `clock`: a callable such as `time.monotonic`, default stream time); their slots are reclaimed
    by `compact`, which runs by itself once a quarter of the slots are dead."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        limits: LimitsSource | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self._limits = limits
        self._versioned = limits if isinstance(limits, VersionedLimits) else None
        self._limits_version = self._versioned.version if self._versioned is not None else 0
        self._clock = clock
        self.series = SeriesState.empty(0)
        self.machines = MachineState.empty(0)
        self.index = SeriesIndex(
            on_new_series=self._init_series, max_features=self.config.max_sensors_per_type
        )
        self.health_ring = HealthRing(self.config.health.window)
        self._corr: dict[int, CorrelationTracker] = {}
        self._buffers: dict[int, TrainingBuffer] = {}
        self._models: dict[int, TypeModel] = {}
        self.now = -math.inf  # stream time: newest timestamp scored
        self.refused_readings = 0  # readings of series beyond their type's sensor limit (never scored)
        self.compactions = 0

    # ------------------------------------------------------------------ registration
    def _range(self, machine_type: str, sensor: str) -> Range | None:
        src = self._limits
        if src is None:
            return None
        if callable(src):
            return src(machine_type, sensor)
        return src.get(machine_type, {}).get(sensor)

    def _init_series(self, slot: int, machine_type: str, sensor: str) -> None:
        self.series.grow(slot + 1)
        r = self._range(machine_type, sensor)
        if r is not None and r[1] > r[0]:
            self.series.lo[slot], self.series.hi[slot] = r

    def refresh_limits(self) -> None:
        """Read the operating range of every known series again (after the limits source changed): one
        lookup per (type, sensor), applied to all that type's machines at once. A range that is gone
        turns the limit detector off for those series."""
        lo, hi = self.series.lo, self.series.hi
        for info in self.index.types:
            table = info.table()
            for f, sensor in enumerate(info.sensors):
                col = table[:, f]
                col = col[col >= 0]
                r = self._range(info.name, sensor)
                if r is not None and r[1] > r[0]:
                    lo[col], hi[col] = r
                else:
                    lo[col] = hi[col] = math.nan

    def _sync_limits(self) -> None:
        src = self._versioned
        if src is not None and src.version != self._limits_version:
            self._limits_version = src.version
            self.refresh_limits()

    def register(self, machine_id: str, machine_type: str, sensors: Sequence[str]) -> I64:
        """Slots of a machine's series (created on first use; -1 for a name beyond the type's sensor limit),
        for `score_arrays`. Valid until the machine is forgotten or evicted and the engine compacts."""
        slots = self.index.slots_for(machine_id, machine_type, sensors)
        self.machines.grow(self.index.n_machines)
        return slots

    def series_name(self, slot: int) -> tuple[str, str]:
        return self.index.series(slot)

    # ------------------------------------------------------------------ scoring
    def score_batch(self, items: Sequence[Telemetry]) -> BatchScores:
        """Score a batch of telemetry. Readings of one series are processed in timestamp order (k-th
        occurrences of all series together); readings not newer than their series' last timestamp are
        skipped, so a redelivered batch does not advance the state twice; readings of quality "bad" are
        skipped too."""
        idx = self.index
        chunks: list[I64] = []
        values: list[float] = []
        stamps: list[float] = []
        counts: list[int] = []
        cache = idx.slot_cache
        for t in items:  # the one Python loop per message: find the slots, collect the values
            rd = t.readings
            keys = tuple(rd)
            hit = cache.get(t.machine_id)
            if hit is not None and hit[0] == keys:
                chunks.append(hit[1])
            else:
                chunks.append(idx.message_slots(t.machine_id, t.machine_type, keys))
            if t.quality == "bad":  # kept aligned, never scored
                values.extend([math.nan] * len(keys))
            else:
                values.extend(rd.values())
            stamps.append(t.ts.timestamp())
            counts.append(len(keys))
        self.machines.grow(idx.n_machines)
        n_items = len(counts)
        slots = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        reps = np.asarray(counts, dtype=np.int64)
        rows = np.repeat(np.arange(n_items, dtype=np.int64), reps)
        ts = np.repeat(np.asarray(stamps, dtype=np.float64), reps)
        return self.score_arrays(slots, ts, np.asarray(values, dtype=np.float64), rows, n_rows=n_items)

    def score_arrays(
        self, slots: I64, ts: F64, values: F64, rows: I64, *, n_rows: int | None = None
    ) -> BatchScores:
        """The engine's core: flat readings (series slot, epoch seconds, value) and the row each belongs to
        (a row = one machine at one instant: a message, a CSV line). Rows of a machine must be given in
        time order. Readings with slot -1 (refused by the sensor limit) are counted and not scored."""
        n = int(slots.shape[0])
        n_rows = int(n_rows if n_rows is not None else (rows.max() + 1 if n else 0))
        if n and int(slots.min()) < 0:
            keep = np.flatnonzero(slots >= 0)
            self.refused_readings += n - int(keep.shape[0])
            out = self._score(slots[keep], ts[keep], values[keep], rows[keep], n_rows)
            return replace(out, readings=_widen(out.readings, keep, rows, slots))
        return self._score(slots, ts, values, rows, n_rows)

    def _score(self, slots: I64, ts: F64, values: F64, rows: I64, n_rows: int) -> BatchScores:
        self._sync_limits()
        cfg = self.config
        n = int(slots.shape[0])
        kidx, rounds, col_slots, col_last = self._layout(slots, ts, values)
        k_slots, k_vals, k_ts, k_rows = slots[kidx], values[kidx], ts[kidx], rows[kidx]
        k_machine = self.index.series_machine[k_slots]
        _, k_mc = np.unique(k_machine, return_inverse=True)
        pre = self.series.take(col_slots)
        det, post = run_detectors(cfg.detectors, pre, k_vals, rounds, k_mc.astype(np.int64))
        post.last_ts = k_ts[col_last]

        row_machine = np.full(n_rows, -1, dtype=np.int64)
        row_machine[rows] = self.index.series_machine[slots]
        row_ts = np.full(n_rows, np.nan)
        row_ts[rows] = ts
        row_valid = np.zeros(n_rows, dtype=np.bool_)
        row_valid[k_rows] = True
        uni_ev, uni_arg = group_max(det.evidence, k_rows, n_rows)
        uni_ev = np.where(row_valid, uni_ev, 0.0)

        vrows = np.flatnonzero(row_valid)
        vrows = vrows[np.lexsort((vrows, row_ts[vrows], row_machine[vrows]))]
        uni_score = squash(uni_ev, cfg.detectors.power)
        mv_ev = np.zeros(n_rows)
        batches = self._type_vectors(vrows, row_machine, k_rows, k_slots, k_vals, det.slow)
        for tb in batches:
            if tb.model is not None and tb.feat_map is not None:
                mv_ev[tb.rows] = tb.model.score_samples(_features(tb.model_input(), tb.feat_map))
            self._collect(tb, uni_score, mv_ev)
        self.series.put(col_slots, post)  # after the vectors read the pre-batch last values

        row_ev = np.maximum(uni_ev, mv_ev)
        uni_det = det.detector[np.maximum(uni_arg, 0)] if det.detector.shape[0] else np.zeros(n_rows, np.int8)
        row_det = np.where(mv_ev > uni_ev, MULTIVARIATE, np.where(uni_arg >= 0, uni_det, 0)).astype(np.int8)
        row_score = np.where(row_valid, squash(row_ev, cfg.detectors.power), 0.0)
        if vrows.shape[0]:
            self.now = max(self.now, float(np.max(row_ts[vrows])))
        self.machines.seen[row_machine[row_machine >= 0]] = self._clock() if self._clock else self.now

        machine_out, events, decisions = self._machines_step(
            vrows, row_machine, row_ts, row_score, row_det, uni_arg, det, k_slots, k_vals, k_rows, batches
        )
        readings = self._reading_scores(n, kidx, rows, slots, det)
        return BatchScores(
            readings=readings,
            rows=RowScores(row_machine, row_ts, row_score, row_det, row_valid),
            machines=machine_out,
            events=events,
            decisions=decisions,
        )

    def _layout(self, slots: I64, ts: F64, values: F64) -> tuple[I64, Rounds, I64, I64]:
        """Which readings are scored (finite, fresh) and the rounds layout: returns the kept readings'
        indices (grouped by series, time order within), the layout, each column's slot and the index (into
        the kept readings) of each column's last reading."""
        last_ts = self.series.last_ts
        finite = np.isfinite(values) & np.isfinite(ts)
        n = slots.shape[0]
        if n and int(np.bincount(slots).max()) <= 1:
            keep = finite & (ts > last_ts[slots]) if self.config.skip_stale else finite
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
        if self.config.skip_stale:
            dup = np.zeros(order.shape[0], dtype=np.bool_)
            dup[1:] = (s_o[1:] == s_o[:-1]) & (t_o[1:] == t_o[:-1])
            order = order[(t_o > last_ts[s_o]) & ~dup]
        rounds, starts = Rounds.from_sorted_groups(slots[order])
        col_last = starts + rounds.counts - 1
        return order, rounds, slots[order][starts], col_last

    def _reading_scores(self, n: int, kidx: I64, rows: I64, slots: I64, det: DetectorOutput) -> ReadingScores:
        score = np.zeros(n)
        code = np.zeros(n, dtype=np.int8)
        z = np.full(n, np.nan)
        expected = np.full(n, np.nan)
        scored = np.zeros(n, dtype=np.bool_)
        score[kidx], code[kidx], z[kidx], expected[kidx] = det.score, det.detector, det.z, det.expected
        scored[kidx] = True
        return ReadingScores(rows, slots, score, code, z, expected, scored)

    # ------------------------------------------------------------------ machine vectors and models
    def _type_vectors(
        self, vrows: I64, row_machine: I64, k_rows: I64, k_slots: I64, k_vals: F64, k_slow: F64
    ) -> list[TypeBatch]:
        """Per type: each row's sensor vector (the row's readings, older values of the machine filled
        forward, the state before the batch for the first row), and the same vectors as deviations from each
        series' slow level (what the type model sees: machines of one type at different setpoints share one
        model, and a slow swing of ambient conditions or load is not a new regime)."""
        idx = self.index
        out: list[TypeBatch] = []
        if vrows.shape[0] == 0:
            return out
        r_type = idx.machine_type[row_machine[vrows]]
        pos_of_row = np.full(row_machine.shape[0], -1, dtype=np.int64)
        series = self.series
        with np.errstate(divide="ignore", invalid="ignore"):
            slow_state = series.dslow / (1.0 - series.q_slow)
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
            V[cells], S[cells] = k_vals[mine], k_slow[mine]
            V[first] = np.where(
                np.isnan(V[first]), np.where(init_at[0], series.last_x[init_at[1]], np.nan), V[first]
            )
            S[first] = np.where(
                np.isnan(S[first]), np.where(init_at[0], slow_state[init_at[1]], np.nan), S[first]
            )
            src = np.where(~np.isnan(V) | first[:, None], np.arange(n_sel)[:, None], -1)
            fill = (np.maximum.accumulate(src, axis=0), np.arange(f)[None, :])
            V, S = V[fill], S[fill]
            D = V - S
            model = self._models.get(ti)
            feat_map = (
                np.array([info.feature.get(s, -1) for s in model.sensors], dtype=np.int64) if model else None
            )
            out.append(TypeBatch(info, sel, trow, V, model, feat_map, D))
        return out

    def _collect(self, tb: TypeBatch, uni_score: F64, mv_ev: F64) -> None:
        """Healthy vectors into the type's training buffer; every vector into the correlation rings."""
        pol, info = self.config.training, tb.info
        ti, f = info.index, info.n_features
        machine_rows = tb.trow
        fc = min(f, self.config.correlation.max_features)  # correlations watch the type's first sensors only
        tracker = self._corr.get(ti)
        if tracker is None:
            tracker = self._corr[ti] = CorrelationTracker(fc, self.config.correlation)
        tracker.ensure(len(info.machines), fc)
        tracker.push(machine_rows, tb.V[:, :fc] if fc < f else tb.V)
        if f < pol.min_features:
            return
        buf = self._buffers.get(ti)
        if buf is None:
            buf = self._buffers[ti] = TrainingBuffer(f, pol.buffer_size)
        buf.widen(f)
        slots = info.table()[machine_rows]
        # samples each row's series had seen by that row: before the batch + the row's rank in the batch
        rank = Rounds.from_sorted_groups(machine_rows)[0].rank
        seen = np.where(slots >= 0, self.series.n[np.maximum(slots, 0)], -np.inf).min(axis=1)
        warm = seen + rank + 1
        mv_score = squash(mv_ev[tb.rows], self.config.detectors.power)
        healthy = (
            (uni_score[tb.rows] < pol.healthy_score)
            & (mv_score < pol.healthy_score)
            & np.isfinite(tb.D).all(axis=1)
            & (warm >= self.config.detectors.warmup)
        )
        buf.offer(tb.D[healthy], pol.sample_stride)

    # ------------------------------------------------------------------ training
    def training_due(self) -> list[TrainingJob]:
        """Types whose model should be (re)fitted now, with their healthy vectors. Each job is handed out once
        (again after `pending_timeout_s` of stream time without `install_model`)."""
        jobs: list[TrainingJob] = []
        pol = self.config.training
        for ti, buf in self._buffers.items():
            if not buf.due(pol, self.now, ti in self._models):
                continue
            info = self.index.types[ti]
            sensors = tuple(info.sensors[: buf.n_features])
            ranges = tuple(self._range(info.name, s) for s in sensors)
            buf.pending_since = self.now
            buf.fitted_size = buf.size
            jobs.append(TrainingJob(info.name, buf.snapshot(), sensors, ranges))
        return jobs

    def install_model(self, model: TypeModel) -> None:
        """Use `model` for its machine type from the next batch on (sensors are matched by name)."""
        info = self.index.ensure_type(model.machine_type)
        if not info.sensors:  # a type not seen yet (model loaded at start-up): keep the model's sensor order
            for s in model.sensors:
                info.add_sensor(s)
        self._models[info.index] = model
        buf = self._buffers.get(info.index)
        if buf is not None:
            buf.pending_since = None
            buf.since_fit = 0
            buf.fitted_at = self.now

    def model(self, machine_type: str) -> TypeModel | None:
        info = self.index.type_info(machine_type)
        return self._models.get(info.index) if info else None

    # ------------------------------------------------------------------ queries
    def health(self, machine_id: str) -> MachineHealth | None:
        m = self.index.machine(machine_id)
        if m is None or self.machines.rows[m] == 0:
            return None
        M = self.machines
        ids = np.array([m], dtype=np.int64)
        return MachineHealth(
            machine_id=machine_id,
            ts=to_datetime(float(M.last_ts[m])),
            health=float(self._health_now(ids)[0]),
            score_ewma=float(self._score_level(ids)[0]),
            trend_per_hour=float(M.slope[m]) * 3600.0,
            trend_significant=bool(M.sig[m] > 0),
            rul=rul_of(float(M.rul[m]), float(M.rul_lo[m]), float(M.rul_hi[m])),
        )

    def _slots_of(self, machine_ids: Sequence[str]) -> tuple[list[str], I64]:
        found = [(mid, m) for mid in machine_ids if (m := self.index.machine(mid)) is not None]
        return [mid for mid, _ in found], np.array([m for _, m in found], dtype=np.int64)

    def healths(self, machine_ids: Sequence[str]) -> dict[str, MachineHealth]:
        """`health()` for many machines at once, vectorised (what the consumer stage calls per batch)."""
        ids, ms = self._slots_of(machine_ids)
        M = self.machines
        keep = M.rows[ms] > 0
        ids, ms = [i for i, k in zip(ids, keep.tolist(), strict=True) if k], ms[keep]
        if not ids:
            return {}
        health = self._health_now(ms).tolist()
        level = self._score_level(ms).tolist()
        ts, slope, sig = M.last_ts[ms].tolist(), M.slope[ms].tolist(), (M.sig[ms] > 0).tolist()
        rul, lo, hi = M.rul[ms].tolist(), M.rul_lo[ms].tolist(), M.rul_hi[ms].tolist()
        return {
            mid: MachineHealth(
                machine_id=mid,
                ts=to_datetime(ts[i]),
                health=health[i],
                score_ewma=level[i],
                trend_per_hour=slope[i] * 3600.0,
                trend_significant=sig[i],
                rul=rul_of(rul[i], lo[i], hi[i]),
            )
            for i, mid in enumerate(ids)
        }

    def decisions(self, machine_ids: Sequence[str]) -> dict[str, dec.Decision]:
        """`decision()` for many machines at once (machines without a decision yet are left out)."""
        _, ms = self._slots_of(machine_ids)
        M = self.machines
        keep = M.strategy[ms] >= 0
        ms = ms[keep]
        if ms.shape[0] == 0:
            return {}
        bc = bias_correction(self.config.health.score_alpha, M.rows[ms])
        mean = np.nan_to_num(M.s[ms] / bc)
        sd = np.sqrt(np.maximum(np.nan_to_num(M.s2[ms] / bc) - mean * mean, 0.0))
        return self._decisions_of(ms, self._health_now(ms), sd)

    def correlations(self, machine_id: str) -> CorrelationReport | None:
        """The machine's sensors, their correlation matrix over the recent window and the broken pairs."""
        m = self.index.machine(machine_id)
        if m is None:
            return None
        ti, row = int(self.index.machine_type[m]), int(self.index.machine_trow[m])
        info, tracker = self.index.types[ti], self._corr.get(ti)
        if tracker is None or row >= tracker.count.shape[0]:
            f = min(info.n_features, self.config.correlation.max_features)
            return CorrelationReport(list(info.sensors[:f]), np.full((f, f), np.nan), [])
        f = tracker.n_features
        base = tracker.baseline[row].astype(np.float64)
        if tracker.n_windows[row] > 0:  # the last completed window, as judged when it completed
            matrix = tracker.last[row : row + 1].astype(np.float64)
            broken = tracker.broken[row]
        else:  # no window yet: the vectors so far, and no baseline to break from
            matrix = window_correlation(tracker.recent(row)[None, :, :])
            broken = np.zeros((f, f), dtype=np.bool_)
        sensors = list(info.sensors[:f])
        breaks = [
            CorrelationBreak(sensors[i], sensors[j], float(base[i, j]), float(matrix[0, i, j]))
            for i, j in zip(*np.nonzero(broken), strict=True)
        ]
        return CorrelationReport(sensors, matrix[0], breaks)

    def decision(self, machine_id: str) -> dec.Decision | None:
        """The machine's current strategy with fresh reasons (None before its first decision)."""
        m = self.index.machine(machine_id)
        if m is None or self.machines.strategy[m] < 0:
            return None
        M = self.machines
        ids = np.array([m], dtype=np.int64)
        bc = bias_correction(self.config.health.score_alpha, M.rows[ids])
        mean = float(np.nan_to_num(M.s[ids] / bc)[0])
        sd = math.sqrt(max(float(np.nan_to_num(M.s2[ids] / bc)[0]) - mean * mean, 0.0))
        return self._decision_of(m, float(self._health_now(ids)[0]), sd)

    # ------------------------------------------------------------------ eviction
    def forget(self, machine_ids: Iterable[str]) -> list[str]:
        """Drop machines (removed twins) now: their ids no longer resolve, and a message that names one again
        starts it afresh. Returns the ids that were known. The memory comes back at the next compaction."""
        gone = [mid for mid in machine_ids if self.index.detach(mid) is not None]
        if gone:
            self._maybe_compact()
        return gone

    def evict_idle(self, idle_s: float) -> list[str]:
        """Forget the machines without a scored message for more than `idle_s` (on the engine's clock);
        returns their ids. An evicted machine that comes back is rebuilt from its next message on."""
        idx = self.index
        n = idx.n_machines
        self.machines.grow(n)
        now = self._clock() if self._clock else self.now
        idle = np.flatnonzero(idx.machine_live[:n] & (self.machines.seen[:n] < now - idle_s))
        return self.forget([idx.machine_ids[m] for m in idle.tolist()])

    def _maybe_compact(self) -> None:
        idx = self.index
        if 4 * idx.n_dead >= idx.n_machines or 4 * idx.n_dead_series >= idx.n_series:
            self.compact()

    def compact(self) -> None:
        """Reclaim the slots of forgotten machines: every state array is gathered down to the live machines
        and series (and types still in use or with a model), and the index renumbered to match. O(state);
        the per-batch path is unchanged (dense arrays, no holes)."""
        idx = self.index
        self.series.grow(idx.n_series)
        self.machines.grow(idx.n_machines)
        self.health_ring.grow(idx.n_machines)
        for ti, info in enumerate(idx.types):
            tracker = self._corr.get(ti)
            if tracker is not None:
                tracker.ensure(len(info.machines), tracker.n_features)
        r = idx.compact(set(self._models))
        self.series = self.series.take(r.series)
        self.machines = self.machines.take(r.machines)
        self.health_ring.take(r.machines)
        corr, buffers, models = self._corr, self._buffers, self._models
        self._corr, self._buffers, self._models = {}, {}, {}
        for new, old in enumerate(r.types):
            if old in models:
                self._models[new] = models[old]
            if r.rows[new].shape[0] == 0:  # kept for its model only: rings and buffer start again
                continue
            if old in corr:
                corr[old].take(r.rows[new])
                self._corr[new] = corr[old]
            if old in buffers:
                self._buffers[new] = buffers[old]
        self.compactions += 1

    def memory_bytes(self) -> int:
        """Bytes held in numpy state arrays (the Python index dictionaries come on top)."""
        total = self.series.nbytes + self.machines.nbytes + self.health_ring.nbytes
        total += sum(t.nbytes for t in self._corr.values())
        total += sum(int(b.data.nbytes) for b in self._buffers.values())
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


def _widen(scores: ReadingScores, keep: I64, rows: I64, slots: I64) -> ReadingScores:
    """Scores of the kept readings back in the positions of all `slots` (refused ones: not scored)."""
    n = slots.shape[0]
    score, code = np.zeros(n), np.zeros(n, dtype=np.int8)
    z, expected = np.full(n, np.nan), np.full(n, np.nan)
    scored = np.zeros(n, dtype=np.bool_)
    score[keep], code[keep], z[keep] = scores.score, scores.detector, scores.z
    expected[keep], scored[keep] = scores.expected, scores.scored
    return ReadingScores(rows, slots, score, code, z, expected, scored)


def _features(V: F64, feat_map: I64) -> F64:
    """Type features -> the model's feature order (NaN for sensors the type has not seen)."""
    return np.where(feat_map[None, :] >= 0, V[:, np.maximum(feat_map, 0)], np.nan)
