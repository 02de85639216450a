"""Wires the pure scoring engine into the pipeline. Per consumer batch: score every reading (vectorised,
inline), write each touched machine's analytics onto its twin in Redis (one round trip), store anomaly events
and decisions (PostgreSQL) and publish them (Kafka `anomaly.events`, `twin.decisions`; delivered before the
consumer commits). Models are (re)trained in a process pool, persisted with a version, reloaded at start.
Removed twins (`kind: removed` on the change stream, seen by every process) and machines silent for
`evict_after_s` leave the engine and this stage's per-machine bookkeeping. Operator commands reach the engine
the same way: a whole twin on the change stream whose desired state moved (or whose command the device
answered as applied) opens a settling window in whichever process scores the machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

import msgspec
import orjson
import redis.asyncio as aioredis
import structlog
from redis.commands.core import AsyncScript
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.anomalies.analytics_book import AnalyticsBook, RulByMachine
from dtwin.anomalies.decisions import STRATEGIES
from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.repository import AnomalyRepository
from dtwin.anomalies.type_model import fit_model
from dtwin.contracts.changes import (
    AlertsMessage,
    AnalyticsChange,
    AnomalyEventChange,
    ChangeMessage,
    DecisionChange,
    DecisionsMessage,
    TwinsMessage,
    WholeTwinChange,
)
from dtwin.contracts.telemetry import Telemetry
from dtwin.contracts.topics import RedisKeys
from dtwin.core.change_stream import ChangeStream
from dtwin.core.db import transaction
from dtwin.core.metrics import Metrics
from dtwin.kit.bus import TelemetryBus
from dtwin.kit.deadline import Deadline

log = structlog.get_logger(__name__)

# One batch's analytics writes in one command, its values in one argument: redis-py packs every argument in
# Python (~1 us each, and a growing buffer copied for each), which for ~1,000 HSET and ~500 SET values a batch
# was a tenth of the stage. KEYS: the twin hashes written, then the correlation report keys. ARGV[1]: how
# many twin hashes; ARGV[2]: the values end to end (per twin its health, anomaly_score, strategy and
# analytics; then per correlation key its report); ARGV[3]: their lengths in bytes, separated by spaces.
WRITE_ANALYTICS_LUA = """
local n = tonumber(ARGV[1])
local blob, values, pos = ARGV[2], {}, 1
for len in string.gmatch(ARGV[3], '%d+') do
  local stop = pos + tonumber(len)
  values[#values + 1] = string.sub(blob, pos, stop - 1)
  pos = stop
end
for i = 1, n do
  local a = (i - 1) * 4
  redis.call('HSET', KEYS[i], 'health', values[a + 1], 'anomaly_score', values[a + 2], 'strategy',
             values[a + 3], 'analytics', values[a + 4])
end
for j = n + 1, #KEYS do  -- the reports follow the 4n values before them
  redis.call('SET', KEYS[j], values[3 * n + j])
end
return n
"""


class ScoringStage:
    def __init__(
        self,
        engine: ScoringEngine,
        *,
        redis: aioredis.Redis,
        keys: RedisKeys,
        bus: TelemetryBus,
        sessions: async_sessionmaker[AsyncSession],
        events_topic: str,
        decisions_topic: str,
        model_store: FileModelStore,
        correlations_every_s: float = 10.0,
        changes: ChangeStream | None = None,
        analytics_every_s: float = 30.0,
        evict_after_s: float = 6 * 3600.0,
        housekeeping_every_s: float = 60.0,
        db_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # events and decisions are stored before they are published; a hung database fails the batch's
        # scoring output (logged by the consumer) rather than freezing the consumer behind it
        self.db = Deadline(db_timeout_s, "database (anomaly events)")

        # the change stream (WebSocket fan-out, read models): analytics, alerts, decisions
        self._changes = changes
        self._write_analytics: AsyncScript | None = None  # registered on first use
        # the twin's analytics fields are rewritten when they changed materially, while an anomaly is open,
        # and otherwise at least every `analytics_every_s` (the detail: RUL, trend, explanation); correlation
        # reports at most every `correlations_every_s` (both kept by the book)
        self._clock = clock  # the periodic writes' clock (seconds)
        # per machine: when its analytics and correlation report were written, what was last published
        self.book = AnalyticsBook(analytics_every_s, correlations_every_s)
        self.last_rul: Mapping[str, float] = {}
        self.engine = engine
        self.redis = redis
        self.keys = keys
        self.bus = bus
        self.sessions = sessions
        self.events_topic = events_topic
        self.decisions_topic = decisions_topic
        self.model_store = model_store
        self.seconds = 0.0  # time spent scoring (for make bench)
        self.metrics: Metrics | None = None  # model training runs (set by the app)
        self.batches = 0
        # machines without a message for this long are evicted (checked every `housekeeping_every_s`)
        self.evict_after_s = evict_after_s
        self.housekeeping_every_s = housekeeping_every_s
        self._corr_gone: set[str] = set()  # removed machines whose correlation report is still in Redis
        self._refused_logged = 0
        # per machine: the desired state last seen on the change stream and the command answer last acted on
        self._desired: dict[str, tuple[int, dict[str, Any]]] = {}
        self._answered: dict[str, tuple[int, str]] = {}

    async def process(self, items: Sequence[Telemetry]) -> list[AnomalyEventChange]:
        """Score a batch; returns the anomaly events it stored (for the alarms stage)."""
        if not items:
            return []
        t0 = time.perf_counter()
        scores = self.engine.score_batch(items)
        self.seconds += time.perf_counter() - t0
        self.batches += 1
        m = scores.machines
        ids = m.machine_ids
        # remaining useful life (estimate, s) of this batch's machines, for the alarms stage
        self.last_rul = RulByMachine(ids, m.rul_s)
        pipe = self.redis.pipeline(transaction=False)
        twin_keys: list[str] = []
        corr_keys: list[str] = []
        values: list[bytes] = []  # the script's values, in its order (WRITE_ANALYTICS_LUA)
        step = self.book.step(
            self.engine.index,
            self.engine.compactions,
            m.slots,
            ids,
            health=m.health,
            score=m.score,
            strategy=m.strategy,
            anomalous=m.is_anomaly,
            windows=m.correlation_windows,
            now=self._clock(),
        )
        corr_due = [ids[i] for i in step.reports.tolist()]
        news = step.news
        changed = [
            AnalyticsChange(
                id=ids[i],
                health=round(health, 2),
                anomaly_score=round(score, 4),
                strategy=STRATEGIES[strategy] if strategy >= 0 else None,
            )
            for i, health, score, strategy in zip(
                news.tolist(),
                m.health[news].tolist(),
                m.score[news].tolist(),
                m.strategy[news].tolist(),
                strict=True,
            )
        ]
        due = step.due.tolist()  # machines whose analytics fields are rewritten this batch
        if due:
            # health and decision of the due machines in one vectorised call each (not one per machine)
            due_ids = [ids[i] for i in due]
            healths = self.engine.healths(due_ids)
            decisions = self.engine.decisions(due_ids)
            twin = self.keys.twin
            for machine_id, analytics, health, score, strategy in zip(
                due_ids,
                m.dicts(due),
                m.health[due].tolist(),
                m.score[due].tolist(),
                m.strategy[due].tolist(),
                strict=True,
            ):
                h = healths.get(machine_id)
                d = decisions.get(machine_id)
                analytics["health_detail"] = h.to_dict() if h else None
                analytics["decision"] = d.to_dict() if d else None
                twin_keys.append(twin(machine_id))
                values += (
                    repr(health).encode(),
                    repr(score).encode(),
                    STRATEGIES[strategy].encode() if strategy >= 0 else b"",
                    orjson.dumps(analytics),
                )
        if corr_due:
            for machine_id, report_json in self.engine.correlation_reports(corr_due).items():
                corr_keys.append(self.keys.correlations(machine_id))
                values.append(report_json)
        if twin_keys or corr_keys:
            if self._write_analytics is None:
                self._write_analytics = self.redis.register_script(WRITE_ANALYTICS_LUA)
            lengths = " ".join(map(str, map(len, values)))
            await self._write_analytics(
                keys=[*twin_keys, *corr_keys], args=[len(twin_keys), b"".join(values), lengths], client=pipe
            )
        for k in range(0, len(changed), 500):
            await self.changes.emit(TwinsMessage(items=list(changed[k : k + 500])), client=pipe)
        await pipe.execute()
        if scores.events or scores.decisions:
            return await self._store(scores.events, scores.decisions)
        return []

    @property
    def analytics_every_s(self) -> float:
        return self.book.analytics_every_s

    @property
    def correlations_every_s(self) -> float:
        return self.book.correlations_every_s

    @property
    def changes(self) -> ChangeStream:
        if self._changes is None:
            self._changes = ChangeStream(self.redis, self.keys)
        return self._changes

    # ------------------------------------------------------------------ eviction
    def forget(self, machine_ids: Iterable[str]) -> None:
        """Drop removed machines from scoring now (engine state and this stage's bookkeeping); their
        correlation reports are deleted from Redis at the next `housekeep`."""
        ids = list(machine_ids)
        self.engine.forget(ids)
        self._drop(ids)
        self._corr_gone.update(ids)

    def on_change(self, msg: ChangeMessage) -> None:
        """Change-feed listener (every backend process runs one): a `kind: removed` twin is forgotten; a whole
        twin whose desired state changed, or whose command the device reports applied, is a command."""
        if not isinstance(msg, TwinsMessage):
            return
        removed = [i.id for i in msg.items if i.kind == "removed"]
        if removed:
            self.forget(removed)
        for item in msg.items:
            if isinstance(item, WholeTwinChange):
                self._command(item)

    def _command(self, twin: WholeTwinChange) -> None:
        """Open settling windows for a commanded change: from the time the desired state was stored, for the
        settings that changed (unknown history: those still in the delta, i.e. not yet applied), and again
        from the device's applied time for the settings it applied (the window then covers the move even if
        the device acted late). Machines this process does not score are ignored by the engine."""
        machine_id = twin.id
        seen = self._desired.get(machine_id)
        self._desired[machine_id] = (twin.desired_version, dict(twin.desired))
        cmd = twin.command
        if seen is None:
            fresh = cmd is not None and cmd.status in ("pending", "awaiting_placement") and twin.delta
            changed = set(twin.delta) if fresh else set()
        elif twin.desired_version > seen[0]:
            before, after = seen[1], twin.desired
            changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        else:
            changed = set()
        if changed:
            at = _epoch(twin.updated_at) or self.engine.now
            self.engine.command(machine_id, sorted(changed), at)
        if cmd is None or cmd.status not in ("accepted", "partial") or not cmd.applied:
            return
        if self._answered.get(machine_id) == (cmd.version, cmd.status):
            return
        self._answered[machine_id] = (cmd.version, cmd.status)
        applied_at = _epoch(cmd.ts)
        if applied_at is not None:
            self.engine.command(machine_id, sorted(cmd.applied), applied_at)

    def _drop(self, machine_ids: Sequence[str]) -> None:
        self.book.drop(machine_ids)
        for machine_id in machine_ids:
            self._desired.pop(machine_id, None)
            self._answered.pop(machine_id, None)

    async def housekeep(self) -> list[str]:
        """Evict machines silent for `evict_after_s` and delete the correlation reports of removed ones (not
        of those that came back meanwhile: they have a fresh one). Returns the evicted ids."""
        evicted = self.engine.evict_idle(self.evict_after_s)
        self._drop(evicted)
        if evicted:
            log.info("scoring_evicted_idle", machines=len(evicted), idle_s=self.evict_after_s)
        self._corr_gone -= {m for m in self._corr_gone if self.engine.index.machine(m) is not None}
        gone = list(self._corr_gone)
        for k in range(0, len(gone), 500):
            chunk = gone[k : k + 500]
            await self.redis.delete(*(self.keys.correlations(m) for m in chunk))
            self._corr_gone.difference_update(chunk)
        refused = self.engine.refused_readings
        if refused > self._refused_logged:
            log.warning(
                "scoring_sensors_refused",
                readings=refused - self._refused_logged,
                series=self.engine.index.refused_series,
                limit=self.engine.config.max_sensors_per_type,
            )
            self._refused_logged = refused
        return evicted

    async def housekeep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.housekeeping_every_s)
            await self.housekeep()

    async def _store(self, events: Sequence[Any], decisions: Sequence[Any]) -> list[AnomalyEventChange]:
        """Store events and decisions, then publish them: Kafka (other services) and the change stream
        (`alerts` / `decisions`, with their stored ids, for the dashboard)."""
        # each event's and decision's JSON form once: it goes to Kafka and the change stream, and the events'
        # explanations to their rows
        event_dicts = [e.to_dict() for e in events]
        decision_dicts = [d.to_dict() for d in decisions]
        event_rows = [
            {
                "machine_id": e.machine_id,
                "machine_type": e.machine_type,
                "ts": e.ts,
                "kind": e.kind,
                "started_at": e.started_at,
                "score": float(e.score),
                "peak_score": float(e.peak_score),
                "threshold": float(e.threshold),
                "detector": e.detector,
                "explanation": ed["explanation"],
            }
            for e, ed in zip(events, event_dicts, strict=True)
        ]
        decision_rows = [
            {
                "machine_id": d.machine_id,
                "ts": d.ts,
                "strategy": d.strategy,
                "confidence": float(d.confidence),
                "risk": float(d.risk),
                "opportunity": float(d.opportunity),
                "stability": float(d.stability),
                "reasons": list(d.reasons),
            }
            for d in decisions
        ]

        async def write() -> tuple[list[int], list[int]]:
            async with transaction(self.sessions) as session:
                repo = AnomalyRepository(session)
                return await repo.add_events(event_rows), await repo.add_decisions(decision_rows)

        event_ids, decision_ids = await self.db.run(write())
        for e, ed in zip(events, event_dicts, strict=True):
            await self.bus.produce(self.events_topic, orjson.dumps(ed), key=e.machine_id.encode())
        for d, dd in zip(decisions, decision_dicts, strict=True):
            await self.bus.produce(self.decisions_topic, orjson.dumps(dd), key=d.machine_id.encode())
        pipe = self.redis.pipeline(transaction=False)
        alerts = [
            msgspec.convert({"id": i, **ed}, AnomalyEventChange)
            for i, ed in zip(event_ids, event_dicts, strict=True)
        ]
        if alerts:
            await self.changes.emit(AlertsMessage(items=alerts), client=pipe)
        if decisions:
            recs = [
                msgspec.convert({"id": i, **dd}, DecisionChange)
                for i, dd in zip(decision_ids, decision_dicts, strict=True)
            ]
            await self.changes.emit(DecisionsMessage(items=recs), client=pipe)
        await pipe.execute()
        return alerts

    def load_models(self) -> int:
        """Install the newest persisted model of every machine type found on disk (restart)."""
        loaded = 0
        for machine_type in self.model_store.types():
            model = self.model_store.latest(machine_type)
            if model is not None:
                self.engine.install_model(model)
                loaded += 1
        return loaded

    async def train_forever(self, pool: ProcessPoolExecutor, every_s: float = 30.0) -> None:
        """Fit due models in a separate process (never on the event loop), persist, then install."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every_s)
            await self.train_once(pool, loop)

    async def train_once(
        self, pool: ProcessPoolExecutor | None, loop: asyncio.AbstractEventLoop | None = None
    ) -> int:
        loop = loop or asyncio.get_running_loop()
        trained = 0
        for job in self.engine.training_due():
            try:
                model = await loop.run_in_executor(pool, fit_model, *job)
                model = await asyncio.to_thread(self.model_store.save, model)
            except Exception:
                if self.metrics is not None:
                    self.metrics.training_runs.labels("failed").inc()
                raise
            self.engine.install_model(model)
            if self.metrics is not None:
                self.metrics.training_runs.labels("installed").inc()
            log.info(
                "model_trained", machine_type=job.machine_type, version=model.version, samples=len(job.X)
            )
            trained += 1
        return trained


def _epoch(ts: str | None) -> float | None:
    """An ISO-8601 time of the change stream as epoch seconds (None when absent or unreadable)."""
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None
