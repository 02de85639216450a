"""The scoring engine: scores a stream of telemetry batches with the per-series detectors and the per-type
models and keeps each machine's health, anomaly episodes and strategy. Synchronous and CPU-only (no I/O);
one instance per consumer process, called once per batch. This module runs a batch through the engine's parts
and answers queries; each part has one responsibility: `fleet.py` (index, state arrays, operating limits,
compaction), `batch.py` (a batch's layout and per-type vectors), `training.py` (type models and their
training buffers), `correlation.py` (`CorrelationRings`), `machine_health.py` (score EWMAs, health samples,
RUL), `episodes.py` (anomaly events), `strategy.py` (decisions), `explain.py` (`BatchExplainer`) and
`settling.py` (settling windows after operator commands, `command`). Model fitting is handed out
(`training_due`) and handed back (`install_model`)."""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from dtwin.anomalies import decisions as dec
from dtwin.anomalies.batch import TypeBatch, features, layout, reading_scores, type_vectors, widen
from dtwin.anomalies.calibration import calibrate
from dtwin.anomalies.config import EngineConfig, LimitsSource
from dtwin.anomalies.correlation import CorrelationRings
from dtwin.anomalies.detectors import (
    LIMIT,
    MULTIVARIATE,
    NONE,
    DetectorOutput,
    SeriesState,
    run_detectors,
)
from dtwin.anomalies.ensemble import MV_FAMILY, calibrate_ensemble, explain_family
from dtwin.anomalies.episodes import AnomalyEpisodes
from dtwin.anomalies.explain import BatchExplainer
from dtwin.anomalies.fleet import FleetState, MachineState
from dtwin.anomalies.index import REFUSED, SeriesIndex
from dtwin.anomalies.machine_health import HealthTracker
from dtwin.anomalies.results import (
    AnomalyEvent,
    BatchScores,
    Contribution,
    CorrelationReport,
    MachineHealth,
    MachineScores,
    RowScores,
)
from dtwin.anomalies.scan import F64, I8, I64, Bool, Rounds, group_max, group_max_rows, squash
from dtwin.anomalies.settling import CatalogueEffects, CommandEffects, affected, reanchor
from dtwin.anomalies.strategy import StrategyTracker
from dtwin.anomalies.training import TypeModels
from dtwin.anomalies.type_model import TrainingJob, TypeModel
from dtwin.contracts.telemetry import Telemetry

__all__ = ["EngineConfig", "LimitsSource", "ScoringEngine"]


class ScoringEngine:
    """Streaming anomaly scoring for a fleet. Call `score_batch` once per consumer batch (not thread-safe).

    `limits` gives operating ranges: a mapping machine_type -> sensor -> (lo, hi) or a callable
    (machine_type, sensor) -> (lo, hi) | None, read when a series is first seen; a `VersionedLimits` is read
    again for every known series when its version moves (checked once per batch).

    Memory is bounded per machine: a type takes at most `config.max_sensors_per_type` sensor names (readings
    of further names are ignored and counted in `refused_readings`), correlations track the first
    `correlation.max_features` of them. Machines leave by `forget` (removed twins) or `evict_idle` (silent for
    a while, on `clock`: a callable such as `time.monotonic`, default stream time); their slots are reclaimed
    by `compact`, which runs by itself once a quarter of the slots are dead.

    `effects` says which sensors a commanded setting moves and how long a type settles (`command`); the
    machine catalogue's by default.

    `unscored(machine_type, sensor)` names the series never scored: cumulative counters (an energy meter's
    kWh only rises; its consumption is what the energy room analyses), asked when a series is first seen.
    Their readings are skipped, neither refused nor stored."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        limits: LimitsSource | None = None,
        clock: Callable[[], float] | None = None,
        effects: CommandEffects | None = None,
        unscored: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self._clock = clock
        self.effects: CommandEffects = effects or CatalogueEffects()
        self._settle_horizon = -math.inf  # the latest end of any settling window opened
        self.fleet = FleetState(self.config, limits, unscored)
        self.type_models = TypeModels(self.config, self.fleet)
        self.correlation_rings = CorrelationRings(self.config.correlation)
        self.health_tracker = HealthTracker(self.config.health, self.fleet)
        self.episodes = AnomalyEpisodes(self.config, self.fleet)
        self.strategies = StrategyTracker(
            self.config, self.fleet, self.health_tracker, self.correlation_rings
        )
        self.now = -math.inf  # stream time: newest timestamp scored
        self.refused_readings = 0  # readings of series beyond their type's sensor limit (never scored)
        self.compactions = 0

    @property
    def index(self) -> SeriesIndex:
        return self.fleet.index

    @property
    def series(self) -> SeriesState:
        return self.fleet.series

    @property
    def machines(self) -> MachineState:
        return self.fleet.machines

    # ------------------------------------------------------------------ registration
    def refresh_limits(self) -> None:
        """Read the operating range of every known series again (after the limits source changed): one
        lookup per (type, sensor), applied to all that type's machines at once. A range that is gone
        turns the limit detector off for those series."""
        self.fleet.refresh_limits()

    def register(self, machine_id: str, machine_type: str, sensors: Sequence[str]) -> I64:
        """Slots of a machine's series (created on first use; -1 for a name beyond the type's sensor limit),
        for `score_arrays`. Valid until the machine is forgotten or evicted and the engine compacts."""
        return self.fleet.register(machine_id, machine_type, sensors)

    def series_name(self, slot: int) -> tuple[str, str]:
        return self.index.series(slot)

    def threshold(self, machine_type: str) -> float:
        return self.episodes.threshold(machine_type)

    # ------------------------------------------------------------------ commands
    def command(self, machine_id: str, settings: Iterable[str] | None, at: float) -> list[str]:
        """An operator command changed `settings` of the machine's desired state (None: unknown, all its
        sensors), effective from `at` (epoch seconds, stream time). The sensors it affects (`effects`)
        settle for the type's window from `at`: their readings raise no deviation (only the limit detector
        still fires), the type model and its training ignore them, and their baselines re-anchor to the new
        level. A later command or the device's applied time extends a window that is still open. Returns
        the sensors settling (none for a machine this engine does not score)."""
        idx = self.index
        m = idx.machine(machine_id)
        if m is None:
            return []
        info = idx.types[int(idx.machine_type[m])]
        row = info.table()[int(idx.machine_trow[m])]
        sensors = [name for f, name in enumerate(info.sensors) if row[f] >= 0]
        names = sensors if settings is None else affected(self.effects, info.name, settings, sensors)
        if not names:
            return []
        slots = np.array([row[info.feature[name]] for name in names], dtype=np.int64)
        length = self.config.settle_window_s(self.effects.settle_s(info.name))
        self.fleet.settle.open(slots, at, length)
        self._settle_horizon = max(self._settle_horizon, at + length)
        return names

    def _settling(self, slots: I64, ts: F64) -> Bool | None:
        """Which readings are inside a settling window (None when no window can contain any of them)."""
        if ts.shape[0] == 0 or self._settle_horizon < float(ts.min()):
            return None
        mask = self.fleet.settle.settling(slots, ts)
        return mask if mask.any() else None

    def _settling_features(self, tb: TypeBatch, row_ts: F64) -> Bool | None:
        """Per row of a type batch and type feature: settling (None when none is)."""
        return self._settling(tb.info.table()[tb.trow], np.broadcast_to(row_ts[tb.rows][:, None], tb.V.shape))

    # ------------------------------------------------------------------ scoring
    def score_batch(self, items: Sequence[Telemetry]) -> BatchScores:
        """Score a batch of telemetry. Readings of one series are processed in timestamp order (k-th
        occurrences of all series together); readings not newer than their series' last timestamp are
        skipped, so a redelivered batch does not advance the state twice; readings of quality "bad" are
        skipped too."""
        idx = self.index
        chunks: list[I64] = []
        readings: list[dict[str, float]] = []
        stamps: list[float] = []
        counts: list[int] = []
        bad: list[int] = []  # items of quality "bad": their readings are kept aligned, never scored
        cache = idx.slot_cache
        # a batch's messages mostly share a few instants: an aware time equal to the one before reuses its
        # epoch seconds (`timestamp()` costs ~0.2 us); equal aware datetimes are one instant
        seen_at: object = None
        seen_s = 0.0
        # bound methods: the loop body runs once per message
        add_chunk, add_readings = chunks.append, readings.append
        add_stamp, add_count = stamps.append, counts.append
        for t in items:  # the one Python loop per message: find the slots, collect the readings
            rd = t.readings
            keys = tuple(rd)
            hit = cache.get(t.machine_id)
            if hit is not None and hit[0] == keys:
                add_chunk(hit[1])
            else:
                add_chunk(idx.message_slots(t.machine_id, t.machine_type, keys))
            if t.quality == "bad":
                bad.append(len(counts))
            add_readings(rd)
            at = t.ts
            if at != seen_at or at.tzinfo is None:
                seen_at, seen_s = at, at.timestamp()
            add_stamp(seen_s)
            add_count(len(keys))
        self.machines.grow(idx.n_machines)
        n_items = len(counts)
        slots = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        reps = np.asarray(counts, dtype=np.int64)
        rows = np.repeat(np.arange(n_items, dtype=np.int64), reps)
        ts = np.repeat(np.asarray(stamps, dtype=np.float64), reps)
        # the values in one pass straight from the messages' dicts (fromiter: the same conversion of each
        # value as `np.asarray`, without a list of every value in between)
        vals = np.fromiter(
            itertools.chain.from_iterable(map(dict.values, readings)), dtype=np.float64, count=int(reps.sum())
        )
        if bad:
            ends = np.cumsum(reps)
            for i in bad:
                vals[ends[i] - reps[i] : ends[i]] = math.nan
        return self.score_arrays(slots, ts, vals, rows, n_rows=n_items)

    def score_arrays(
        self, slots: I64, ts: F64, values: F64, rows: I64, *, n_rows: int | None = None
    ) -> BatchScores:
        """The engine's core: flat readings (series slot, epoch seconds, value) and the row each belongs to
        (a row = one machine at one instant: a message, a CSV line). Rows of a machine must be given in
        time order. Readings with slot -1 (refused by the sensor limit) are counted and not scored, those
        with -2 (series not scored: counters) only not scored."""
        n = int(slots.shape[0])
        n_rows = int(n_rows if n_rows is not None else (rows.max() + 1 if n else 0))
        if n and int(slots.min()) < 0:
            keep = np.flatnonzero(slots >= 0)
            self.refused_readings += int(np.count_nonzero(slots == REFUSED))
            out = self._score(slots[keep], ts[keep], values[keep], rows[keep], n_rows)
            return replace(out, readings=widen(out.readings, keep, rows, slots))
        return self._score(slots, ts, values, rows, n_rows)

    def _score(self, slots: I64, ts: F64, values: F64, rows: I64, n_rows: int) -> BatchScores:
        self.fleet.sync_limits()
        cfg = self.config
        n = int(slots.shape[0])
        kidx, rounds, col_slots, col_last = layout(self.series, cfg.skip_stale, slots, ts, values)
        k_slots, k_vals, k_ts, k_rows = slots[kidx], values[kidx], ts[kidx], rows[kidx]
        k_machine = self.index.series_machine[k_slots]
        if rounds.n_rounds == 1:  # machine slots group the readings as they are (counts sized by the fleet)
            k_mc = k_machine
        else:  # compact ids: the detectors' (round, machine) keys stay below rounds x machines in the batch
            _, k_mc = np.unique(k_machine, return_inverse=True)
        pre = self.series.view(col_slots)  # read-only until `put` (the detectors build `post` anew)
        k_settle = self._settling(k_slots, k_ts)
        det, post = run_detectors(
            cfg.detectors,
            pre,
            k_vals,
            rounds,
            k_mc.astype(np.int64, copy=False),
            k_settle,
            k_ts,
            self.fleet.seasonal,
        )
        if k_settle is not None:
            settling_cols = np.bincount(rounds.col, weights=k_settle, minlength=rounds.n_cols) > 0
            reanchor(pre, post, settling_cols, cfg.detectors.warmup)
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
        batches = type_vectors(
            self.fleet,
            self.type_models.installed,
            vrows,
            row_machine,
            k_rows,
            k_slots,
            k_vals,
            det.slow,
            det.fast,
            row_ts,
            cfg.carry_max_s,
        )
        for tb in batches:
            settling = self._settling_features(tb, row_ts)
            if tb.model is not None and tb.feat_map is not None:
                X = tb.model_input()
                if settling is not None:  # settling sensors take the model's mean (judge the others)
                    X = np.where(settling, np.nan, X)
                mv_ev[tb.rows] = tb.model.score_samples(features(X, tb.feat_map))
            self.correlation_rings.push(
                tb.info.index,
                len(tb.info.machines),
                tb.trow,
                tb.V,
                functools.partial(self._ids_at, tb.info.machines),
            )
            exclude = None if settling is None else np.asarray(settling.any(axis=1), dtype=np.bool_)
            self.type_models.collect(tb, uni_score, mv_ev, exclude)
        self.series.put(col_slots, post)  # after the vectors read the pre-batch last values

        row_ev = np.maximum(uni_ev, mv_ev)
        uni_det = det.detector[np.maximum(uni_arg, 0)] if det.detector.shape[0] else np.zeros(n_rows, np.int8)
        row_det = np.where(mv_ev > uni_ev, MULTIVARIATE, np.where(uni_arg >= 0, uni_det, 0)).astype(np.int8)
        row_level = np.where(row_valid, squash(row_ev, cfg.detectors.power), 0.0)
        row_score = np.zeros(n_rows)
        row_alarm = np.zeros(n_rows, dtype=np.bool_)
        if vrows.shape[0]:  # calibrated: 1 - the row's tail probability against its machine's recent rows
            rm = row_machine[vrows]
            # the alarm rule's operating limit is the level's label (a reading beyond its range), not the
            # ensemble's (which may name the limit detector for a reading that nears its limit unusually)
            limit_rows = row_det[vrows] == LIMIT
            if cfg.ensemble.combine == "max":
                self.fleet.calibration.grow(self.index.n_machines)
                weight = np.empty(vrows.shape[0])
                p = calibrate(cfg.calibration, self.fleet.calibration, rm, row_ev[vrows], weight)
            else:
                p, weight = self._ensemble(det, k_rows, n_rows, vrows, rm, mv_ev, row_det)
            row_score[vrows] = 1.0 - p
            row_alarm[vrows] = self._alarms(
                row_score[vrows], row_level[vrows], limit_rows, weight, self.episodes.thresholds(rm)
            )
        if vrows.shape[0]:
            self.now = max(self.now, float(np.max(row_ts[vrows])))
        self.machines.seen[row_machine[row_machine >= 0]] = self._clock() if self._clock else self.now

        machine_out, events, decisions = self._machines_step(
            vrows,
            row_machine,
            row_ts,
            row_level,
            row_score,
            row_alarm,
            row_det,
            uni_arg,
            det,
            k_slots,
            k_vals,
            k_rows,
            batches,
        )
        readings = reading_scores(n, kidx, rows, slots, det)
        return BatchScores(
            readings=readings,
            rows=RowScores(row_machine, row_ts, row_score, row_det, row_valid, row_level, row_alarm),
            machines=machine_out,
            events=events,
            decisions=decisions,
        )

    def _ids_at(self, machines: list[int], rows: list[int]) -> list[str]:
        """The ids of a type's machines at these table rows (`machines`: the type's machine slots by row)."""
        return [self.index.machine_ids[machines[r]] for r in rows]

    def _ensemble(
        self, det: DetectorOutput, k_rows: I64, n_rows: int, vrows: I64, rm: I64, mv_ev: F64, row_det: I8
    ) -> tuple[F64, F64]:
        """The calibrated ensemble (`ensemble.py`): each detector family's evidence per row (the largest of
        the row's readings; the type model's as one more family), its tail probability per machine and the
        final one. Relabels `row_det` with the family of the smallest tail probability (a row labelled as an
        operating limit keeps it: beyond the range is the most actionable label, and its alarm rule)."""
        self.fleet.ensemble.grow(self.index.n_machines)
        fam = group_max_rows(det.families, k_rows, n_rows)[vrows]
        fam[:, MV_FAMILY] = mv_ev[vrows]
        cfg = self.config
        es = calibrate_ensemble(cfg.ensemble, cfg.calibration.alpha, self.fleet.ensemble, rm, fam)
        label = np.where(es.p_family.min(axis=1) < 1.0, explain_family(es.p_family) + 1, NONE)
        row_det[vrows] = np.where(row_det[vrows] == LIMIT, LIMIT, label)
        return es.p, es.weight

    def _alarms(self, score: F64, level: F64, limit: Bool, weight: F64, thr: F64) -> Bool:
        """Which rows alarm (EngineConfig.alarm_score): the calibrated score, or the level where the
        machine's calibration is still cold or the evidence is an operating limit."""
        by_level = level >= thr
        if self.config.alarm_score is None:
            return by_level
        cold = weight < self.config.warm_weight
        out: Bool = (by_level & (cold | limit)) | (~cold & (score >= self.config.alarm_score))
        return out

    def _machines_step(
        self,
        vrows: I64,
        row_machine: I64,
        row_ts: F64,
        row_level: F64,
        row_score: F64,
        row_alarm: Bool,
        row_det: npt.NDArray[np.int8],
        uni_arg: I64,
        det: DetectorOutput,
        k_slots: I64,
        k_vals: F64,
        k_rows: I64,
        batches: list[TypeBatch],
    ) -> tuple[MachineScores, list[AnomalyEvent], list[dec.Decision]]:
        """Per machine the batch touched: health, the best row (explained when above the threshold), anomaly
        episodes and strategy (vectorised over machines)."""
        M, idx = self.machines, self.index
        if vrows.shape[0] == 0:
            return _empty_scores(), [], []
        rm = row_machine[vrows]  # sorted by machine, then time
        mr, mstarts = Rounds.from_sorted_groups(rm)
        ms = rm[mstarts]
        t_rows = row_ts[vrows]
        self.health_tracker.update(mr, ms, t_rows, row_level[vrows])

        best, arg = group_max(row_level[vrows], mr.col, ms.shape[0])
        m_row = vrows[arg]
        thr = self.episodes.thresholds(ms)
        alarmed, _ = group_max(row_alarm[vrows].astype(np.float64), mr.col, ms.shape[0])
        above = alarmed > 0.0  # an episode starts on an alarming row; it resolves on the level (episodes.py)
        if above.any():  # ...and is labelled and explained by its alarming row with the highest score
            _, x_arg = group_max(np.where(row_alarm[vrows], 1.0 + row_score[vrows], 0.0), mr.col, ms.shape[0])
            m_row = np.where(above, vrows[x_arg], m_row)

        explanations: dict[str, list[Contribution]] = {}
        top = np.full(ms.shape[0], -1, dtype=np.int64)
        if above.any():
            explainer = BatchExplainer(
                self.config, self.fleet, row_machine.shape[0], k_rows, k_slots, k_vals, det, batches
            )
            for i in np.flatnonzero(above).tolist():
                r = int(m_row[i])
                contribs = explainer.row(r, int(row_det[r]), int(uni_arg[r]))
                machine_id = idx.machine_ids[int(ms[i])]
                explanations[machine_id] = contribs
                if contribs:
                    info = idx.types[int(idx.machine_type[ms[i]])]
                    top[i] = info.feature.get(contribs[0].sensor, -1)

        M.score[ms], M.det[ms] = best, row_det[m_row]
        M.top[ms] = top
        events = self.episodes.step(ms, best, thr, above, row_det[m_row], top, explanations)
        health = self.health_tracker.current(ms)
        decisions = self.strategies.decide(ms, health)
        strategy = M.strategy[ms].astype(np.int8)
        breaks = self.correlation_rings.breaks(idx, ms)
        scores = MachineScores(
            machine_ids=_pick(idx.machine_ids, ms.tolist()),
            machine_types=_pick([info.name for info in idx.types], idx.machine_type[ms].tolist()),
            ts=M.last_ts[ms],
            score=best,
            is_anomaly=above,
            detector=row_det[m_row],
            health=health,
            rul_s=M.rul[ms],
            rul_lower_s=M.rul_lo[ms],
            rul_upper_s=M.rul_hi[ms],
            strategy=strategy,
            correlation_breaks=breaks,
            explanations=explanations,
            correlation_windows=self.correlation_rings.windows(idx, ms),
            slots=ms,
        )
        return scores, events, decisions

    # ------------------------------------------------------------------ training
    def training_due(self) -> list[TrainingJob]:
        """Types whose model should be (re)fitted now, with their healthy vectors. Each job is handed out once
        (again after `pending_timeout_s` of stream time without `install_model`)."""
        return self.type_models.due(self.now)

    def install_model(self, model: TypeModel) -> None:
        """Use `model` for its machine type from the next batch on (sensors are matched by name)."""
        self.type_models.install(model, self.now)

    def model(self, machine_type: str) -> TypeModel | None:
        return self.type_models.of_type(machine_type)

    # ------------------------------------------------------------------ queries
    def health(self, machine_id: str) -> MachineHealth | None:
        return self.health_tracker.health(machine_id)

    def healths(self, machine_ids: Sequence[str]) -> dict[str, MachineHealth]:
        """`health()` for many machines at once, vectorised (what the consumer stage calls per batch)."""
        return self.health_tracker.healths(machine_ids)

    def decisions(self, machine_ids: Sequence[str]) -> dict[str, dec.Decision]:
        """`decision()` for many machines at once (machines without a decision yet are left out)."""
        return self.strategies.decisions(machine_ids)

    def decision(self, machine_id: str) -> dec.Decision | None:
        """The machine's current strategy with fresh reasons (None before its first decision)."""
        return self.strategies.decision(machine_id)

    def correlations(self, machine_id: str) -> CorrelationReport | None:
        """The machine's sensors, their correlation matrix over the recent window and the broken pairs."""
        m = self.index.machine(machine_id)
        return None if m is None else self.correlation_rings.report(self.index, m)

    def correlation_reports(self, machine_ids: Sequence[str]) -> dict[str, bytes]:
        """`correlations(id)` of each known machine of `machine_ids` as JSON, built in one pass."""
        known = [(mid, m) for mid in machine_ids if (m := self.index.machine(mid)) is not None]
        ms = np.fromiter((m for _, m in known), dtype=np.int64, count=len(known))
        reports = self.correlation_rings.reports_json(self.index, ms)
        return {mid: report for (mid, _), report in zip(known, reports, strict=True)}

    # ------------------------------------------------------------------ eviction
    def forget(self, machine_ids: Iterable[str]) -> list[str]:
        """Drop machines (removed twins) now: their ids no longer resolve, and a message that names one again
        starts it afresh. Returns the ids that were known. The memory comes back at the next compaction."""
        gone = [machine_id for machine_id in machine_ids if self.index.detach(machine_id) is not None]
        if gone and self.fleet.needs_compaction():
            self.compact()
        return gone

    def evict_idle(self, idle_s: float) -> list[str]:
        """Forget the machines without a scored message for more than `idle_s` (on the engine's clock);
        returns their ids. An evicted machine that comes back is rebuilt from its next message on."""
        now = self._clock() if self._clock else self.now
        return self.forget(self.fleet.idle(now, idle_s))

    def compact(self) -> None:
        """Reclaim the slots of forgotten machines: every state array is gathered down to the live machines
        and series (and types still in use or with a model), and the index renumbered to match. O(state);
        the per-batch path is unchanged (dense arrays, no holes)."""
        self.correlation_rings.prepare_compaction(self.index)
        r = self.fleet.compact(set(self.type_models.installed))
        self.correlation_rings.remap(r)
        self.type_models.remap(r)
        self.compactions += 1

    def memory_bytes(self) -> int:
        """Bytes held in numpy state arrays (the Python index dictionaries come on top)."""
        return self.fleet.nbytes + self.correlation_rings.nbytes + self.type_models.nbytes


def _pick(values: list[str], at: list[int]) -> list[str]:
    """`[values[i] for i in at]`, in one C call for more than one."""
    if len(at) > 1:
        return list(operator.itemgetter(*at)(values))
    return [values[i] for i in at]


def _empty_scores() -> MachineScores:
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
