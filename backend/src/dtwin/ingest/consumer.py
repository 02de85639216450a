"""The telemetry consumer: per batch, validate -> write readings (idempotent) -> update Redis twins and
publish updates (one round trip) -> flush the DLQ -> commit offsets. Offsets are committed only after the
batch is durable.

Two kinds of failure, told apart by type (`core/failures.py`): a failure that a message itself causes
(invalid, over a limit, or refused by a store: a data or script error) sends that message to the dead-letter
topic with its reason and the rest of the batch goes on; such a message is found by halving the batch until
it stands alone. Only an infrastructure failure retries the same batch, with backoff, committing nothing;
after `stall_after_s` of that the consumer reports itself stalled (readiness fails, `stalled_since`, an
error log line every `stall_log_every_s`) until a retry succeeds."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog
from opentelemetry.trace import Span, SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.stage import AlarmStage
from dtwin.anomalies.scoring import ScoringStage
from dtwin.contracts.changes import AnomalyEventChange, TwinUpdate
from dtwin.contracts.limits import DEFAULT_LIMITS, Limits
from dtwin.contracts.telemetry import Rejection, Telemetry, iso_utc, parse_telemetry, valid_placement
from dtwin.core.metrics import Metrics, Stages
from dtwin.data_quality.cleanse import Assessment
from dtwin.data_quality.stage import DataQualityStage
from dtwin.ingest.names import NameLimits
from dtwin.ingest.outage import OutageBuffer, PendingWrite, TopicPartition, message_instants, next_offsets
from dtwin.kit.bus import BusConsumer, BusMessage, TelemetryBus
from dtwin.kit.deadline import Deadline
from dtwin.kit.dlq import send_to_dlq
from dtwin.kit.failures import describe, is_infrastructure
from dtwin.kit.tracing import DISABLED, KEEP, Tracing, as_parent, links, remote_context
from dtwin.readings.service import store_instants
from dtwin.twins.durable import Durability
from dtwin.twins.events import ReportedSummarizer, TwinEventLog
from dtwin.twins.store import TwinStore

log = structlog.get_logger(__name__)

DATABASE_STAGES = ("database", "registry", "change log")  # what waits in an outage (ingest/outage.py)


@dataclass
class ConsumerState:
    started: bool = False
    last_poll_monotonic: float = 0.0
    batches: int = 0
    messages: int = 0
    readings: int = 0
    rejected: int = 0
    retries: int = 0
    poison: int = 0  # messages dead-lettered because processing them failed (not validation)
    last_error: str | None = None
    failing_since: float | None = None  # monotonic time of the first failure of the current batch
    stalled_since: float | None = None  # set once it has failed for stall_after_s
    outage_readings: int = 0  # readings waiting for the database (ingest/outage.py)
    outage_s: float = 0.0  # how long the database has been out (0: it is not)


@dataclass(slots=True)
class Accepted:
    """A message that passed validation, with the headers the bridge set and the message itself (for the
    dead-letter record, should storing it fail). `bad`: its sensors outside their physical range (stored
    with quality "bad", never scored; data_quality/)."""

    t: Telemetry
    headers: dict[str, str]
    msg: BusMessage
    bad: frozenset[str] = frozenset()

    def scored(self) -> Telemetry:
        """The telemetry scoring and alarms see: readings out of their physical range as NaN (missing)."""
        if not self.bad:
            return self.t
        bad = self.bad
        return replace(self.t, readings={k: math.nan if k in bad else v for k, v in self.t.readings.items()})


class StageFailed(Exception):
    """A batch stage failed; `stage` names it for the dead letter, the cause is the original error."""

    def __init__(self, stage: str, exc: BaseException) -> None:
        super().__init__(f"{stage}: {describe(exc)}")
        self.stage = stage


@dataclass(slots=True)
class BatchResult:
    accepted: int
    rejected: int
    readings: int
    machines: int


class BatchPlacement(Mapping[str, tuple[str | None, str | None, str | None]]):
    """machine -> (machine type, site, line) of a stored batch, for the alarms it raises; built on the first
    lookup only (most batches raise none)."""

    def __init__(self, stored: list[Accepted]) -> None:
        self._stored = stored
        self._map: dict[str, tuple[str | None, str | None, str | None]] | None = None

    def _built(self) -> dict[str, tuple[str | None, str | None, str | None]]:
        if self._map is None:
            self._map = {
                a.t.machine_id: (
                    a.t.machine_type,
                    a.t.site or a.headers.get("site"),
                    a.t.line or a.headers.get("line"),
                )
                for a in self._stored
            }
        return self._map

    def __getitem__(self, machine_id: str) -> tuple[str | None, str | None, str | None]:
        return self._built()[machine_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def twin_updates(accepted: list[tuple[Telemetry, dict[str, str]]]) -> list[TwinUpdate]:
    """The latest state per machine in this batch, for TwinStore.apply. Each property keeps its newest value
    (of two with the same timestamp, the first received, as the database does); a value older than the
    update's ts carries its own time in `times`, so the store's per-property timestamp rule stays exact.

    The usual batch holds one message per machine: its update is the message itself (no per-property work).
    Only a machine's second message in the batch starts the per-property merge, from the first one's values
    all stamped with its ts."""
    latest: dict[str, TwinUpdate] = {}
    merged: set[str] = set()
    stamps: dict[datetime, str] = {}  # a batch's messages mostly share a few timestamps: format each once
    for t, headers in accepted:
        ts = stamps.get(t.ts)
        if ts is None:
            ts = stamps[t.ts] = iso_utc(t.ts)
        u = latest.get(t.machine_id)
        if u is None:
            latest[t.machine_id] = TwinUpdate(
                id=t.machine_id,
                machine_type=t.machine_type,
                site=t.site or headers.get("site"),
                line=t.line or headers.get("line"),
                ts=ts,
                quality=t.quality,
                readings=dict(t.readings),
                reported=dict(t.reported) if t.reported else {},
            )
            continue
        # the machine's next tick (a batch that spans its ticks: a consumer catching up) whose values
        # overwrite every value so far, all at u.ts: it replaces them, no per-property merge
        replaces = (
            ts > u.ts
            and t.machine_id not in merged
            and not t.reported
            and not u.reported
            and t.readings.keys() >= u.readings.keys()
        )
        times = u.times
        if not replaces and t.machine_id not in merged:
            merged.add(t.machine_id)
            times.update({f"r:{name}": u.ts for name in u.readings})
            times.update({f"p:{name}": u.ts for name in u.reported})
        newer = ts >= u.ts
        if newer:
            u.ts, u.quality = ts, t.quality
            if t.machine_type != "unknown":
                u.machine_type = t.machine_type
        u.site = (t.site or headers.get("site") or u.site) if newer else (u.site or t.site)
        u.line = (t.line or headers.get("line") or u.line) if newer else (u.line or t.line)
        if replaces:
            u.readings = dict(t.readings)
            continue
        for ns, values, target in (("r", t.readings, u.readings), ("p", t.reported or {}, u.reported)):
            for name, value in values.items():
                key = f"{ns}:{name}"
                if name not in target or times[key] < ts:  # same ts: the first value stays
                    target[name] = value
                    times[key] = ts
    for machine_id in merged:  # only properties older than the update's own ts need their time
        u = latest[machine_id]
        u.times = {k: v for k, v in u.times.items() if v != u.ts}
    return list(latest.values())


class TelemetryConsumer:
    def __init__(
        self,
        bus: TelemetryBus,
        sessions: async_sessionmaker[AsyncSession],
        store: TwinStore,
        *,
        topic: str,
        dlq_topic: str,
        group: str,
        max_records: int = 5000,
        poll_timeout_ms: int = 200,
        events: TwinEventLog | None = None,
        durable: Durability | None = None,
        scoring: ScoringStage | None = None,
        alarms: AlarmStage | None = None,
        limits: Limits = DEFAULT_LIMITS,
        stall_after_s: float = 30.0,
        stall_log_every_s: float = 30.0,
        outage: OutageBuffer | None = None,
        db_timeout_s: float = 10.0,
        quality: DataQualityStage | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing = DISABLED,
    ) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self._clock = Stages(None)  # the batch being processed's stage clock
        self._lag_partitions: set[int] = set()  # partitions this process last reported lag for
        self.outage = outage if outage is not None else OutageBuffer()
        self.db = Deadline(db_timeout_s, "database")  # a hung database is an outage, not a frozen consumer
        self._consumed: dict[TopicPartition, int] = {}  # next offset per partition, during an outage
        self.bus = bus
        self.scoring = scoring
        self.alarms = alarms
        self.quality = quality
        self.durable = durable
        self.sessions = sessions
        self.store = store
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.group = group
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.events = events
        self.limits = limits
        self.names = NameLimits(store.redis, store.keys, limits)
        self.stall_after_s = stall_after_s
        self.stall_log_every_s = stall_log_every_s
        self.summaries = ReportedSummarizer()
        self.state = ConsumerState()

    async def run(self) -> None:
        consumer = self.bus.consumer([self.topic], self.group)
        try:
            await consumer.start()
            self.state.started = True
            log.info("consumer_started", topic=self.topic, group=self.group)
            while True:
                if self.outage.full:  # stop taking messages until the database takes the waiting ones
                    await self._drain_outage()
                msgs = await consumer.getmany(self.poll_timeout_ms, self.max_records)
                self.state.last_poll_monotonic = time.monotonic()
                was_out = self.outage.active
                if msgs:
                    await self._process_until_done(msgs)
                    if self.outage.active or was_out:
                        next_offsets(msgs, self._consumed)
                    await self._report_lag(consumer)
                flushed = await self._flush_outage()
                if not (msgs or flushed):
                    continue
                if not self.outage.active and not self._consumed:
                    t0 = time.perf_counter()
                    await consumer.commit()
                    if self.metrics is not None:
                        self.metrics.stage_seconds.labels("commit").observe(time.perf_counter() - t0)
                    continue
                # only up to the first message whose database writes still wait
                try:
                    await consumer.commit(self.outage.commit_offsets(self._consumed))
                except Exception as exc:  # a partition revoked meanwhile: committed later, or redelivered
                    log.warning("commit_failed", error=describe(exc))
                if not self.outage.active:
                    self._consumed.clear()
        finally:
            self.state.started = False
            await consumer.stop()

    async def _report_lag(self, consumer: BusConsumer) -> None:
        """Lag per owned partition into the metrics; partitions no longer owned stop being reported."""
        if self.metrics is None:
            return
        try:
            lags = await consumer.partition_lag()
        except Exception as exc:  # a rebalance under way: the next batch reports it
            log.debug("lag_unavailable", error=describe(exc))
            return
        for partition, n in lags.items():
            self.metrics.lag.labels(str(partition)).set(n)
        for gone in self._lag_partitions - set(lags):
            self.metrics.lag.remove(str(gone))
        self._lag_partitions = set(lags)

    async def _process_until_done(self, msgs: list[BusMessage]) -> None:
        """Process the batch; on an infrastructure failure retry it (backoff up to 10 s), committing
        nothing. The retries do not count as polls: a consumer stuck here is reported stalled."""
        backoff = 0.2
        s = self.state
        logged_at = -math.inf
        while True:
            try:
                await self.process_batch(msgs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                now = time.monotonic()
                s.retries += 1
                s.last_error = describe(exc)
                if s.failing_since is None:
                    s.failing_since = now
                if s.stalled_since is None and now - s.failing_since >= self.stall_after_s:
                    s.stalled_since = s.failing_since
                if s.stalled_since is not None:
                    if now - logged_at >= self.stall_log_every_s:
                        logged_at = now
                        log.error(
                            "consumer_stalled",
                            stalled_s=round(now - s.stalled_since),
                            retries=s.retries,
                            error=s.last_error,
                            messages=len(msgs),
                        )
                else:
                    log.warning("batch_retry", error=s.last_error, messages=len(msgs), backoff_s=backoff)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 10.0)
                continue
            if s.stalled_since is not None:
                log.info("consumer_recovered", stalled_s=round(time.monotonic() - s.stalled_since))
            s.failing_since = s.stalled_since = None
            s.last_error = None
            return

    async def process_batch(self, msgs: list[BusMessage]) -> BatchResult:
        """Process a batch (validate, store, score, alarm); traced (kit/tracing.py) when any of its messages
        is: a `consumer.batch` span linking to each traced message, whose database and Redis calls are its
        children, and per traced message a `telemetry.stored` span in the message's own trace."""
        traced = [c for m in msgs if (c := remote_context(m.headers))] if self.tracing.enabled else []
        if not traced:
            return await self._process_batch(msgs, None)
        started = time.time_ns()
        with self.tracing.tracer.start_as_current_span(
            "consumer.batch",
            kind=SpanKind.CONSUMER,
            links=links(traced),
            attributes={
                "messaging.batch.message_count": len(msgs),
                "dtwin.traced_messages": len(traced),
                KEEP: True,
            },
        ) as span:
            result = await self._process_batch(msgs, span)
            span.set_attribute("dtwin.readings_stored", result.readings)
            batch_link = links([span.get_span_context()])
        for c in traced:  # each traced message's own trace continues into the consumer
            self.tracing.tracer.start_span(
                "telemetry.stored",
                context=as_parent(c),
                kind=SpanKind.CONSUMER,
                links=batch_link,
                start_time=started,
            ).end()
        return result

    async def _process_batch(self, msgs: list[BusMessage], span: Span | None) -> BatchResult:
        metrics = self.metrics
        clock = self._clock = Stages(metrics, span)
        now = datetime.now(UTC)
        accepted: list[Accepted] = []
        rejected = 0
        for m in msgs:
            parsed = self._validate(m, now)
            if isinstance(parsed, Rejection):
                rejected += 1
                await self._dead_letter(m, parsed)
                continue
            accepted.append(Accepted(parsed, m.headers, m))
        clock.lap("validate")
        verdicts = await self.names.check([a.t for a in accepted])
        clock.lap("names")
        if any(verdicts):
            kept: list[Accepted] = []
            for a, verdict in zip(accepted, verdicts, strict=True):
                if verdict is None:
                    kept.append(a)
                else:
                    rejected += 1
                    await self._dead_letter(a.msg, verdict)
            accepted = kept

        assessment = self._assess(accepted, now)
        clock.lap("quality")
        stored, readings, machines = await self._store_isolating(accepted, now)
        clock.lap("registry")  # what storing did after the twins (and any isolation of a bad message)
        rejected += len(accepted) - len(stored)
        if assessment is not None:
            self._commit_quality(assessment)
            clock.lap("quality")
        anomalies: list[AnomalyEventChange] = []
        items = [a.scored() for a in stored]
        if self.scoring is not None and items:
            try:
                anomalies = await self.scoring.process(items)
            except Exception:  # analytics must not stop ingestion: the readings are stored either way
                log.exception("scoring_failed", messages=len(stored))
            clock.lap("scoring")
        if self.alarms is not None and (items or rejected):
            rul = self.scoring.last_rul if self.scoring is not None else None
            try:  # transitions the database cannot take now wait in the stage (bounded)
                await self.alarms.process(items, BatchPlacement(stored), anomalies, rul, rejected)
            except Exception:
                log.exception("alarms_failed", messages=len(stored))
            clock.lap("alarms")
        await self.bus.flush()  # the DLQ records are durable before offsets move
        clock.lap("flush")
        clock.done()
        if metrics is not None:
            metrics.batches.inc()
            metrics.batch_messages.observe(len(msgs))
            metrics.messages_received.inc(len(msgs))
            metrics.readings_stored.inc(readings)
            if anomalies:
                metrics.anomaly_events.inc(len(anomalies))

        s = self.state
        s.batches += 1
        s.messages += len(msgs)
        s.readings += readings
        s.rejected += rejected
        if rejected:
            log.info("batch_rejections", rejected=rejected, dlq=self.dlq_topic)
        return BatchResult(len(stored), rejected, readings, machines)

    def _assess(self, accepted: list[Accepted], now: datetime) -> Assessment | None:
        """The data-quality rules that decide what is stored: readings outside their physical range get
        quality "bad" (and the optional clock correction shifts timestamps). Changes no state, so a retried
        batch is assessed alike; a failure here is logged and the batch goes on unassessed."""
        if self.quality is None or not accepted:
            return None
        received = now.timestamp()
        recv = [received if a.msg.timestamp_ms is None else a.msg.timestamp_ms / 1000.0 for a in accepted]
        try:
            assessment = self.quality.assess([a.t for a in accepted], recv)
        except Exception:  # data quality must not stop ingestion
            log.exception("data_quality_failed", stage="assess", messages=len(accepted))
            return None
        for i, sensors in assessment.bad.items():
            accepted[i].bad = sensors
        return assessment

    def _commit_quality(self, assessment: Assessment) -> None:
        assert self.quality is not None
        try:  # the batch is stored: gaps, late messages, clock offsets, counts
            self.quality.commit(assessment)
        except Exception:
            log.exception("data_quality_failed", stage="commit", messages=len(assessment.machine_ids))

    def _stored(self, offered: int, inserted: int) -> None:
        """Rows the database already had (PostgreSQL says how many it inserted; SQLite: all offered)."""
        if self.quality is not None and inserted < offered:
            self.quality.duplicates(offered - inserted)

    async def _dead_letter(self, m: BusMessage, rejection: Rejection) -> None:
        if self.metrics is not None:
            self.metrics.dead_letters.labels(rejection.code).inc()
        await send_to_dlq(
            self.bus, self.dlq_topic, m, rejection, stage="consumer", keep_bytes=self.limits.dlq_payload_bytes
        )

    def _validate(self, m: BusMessage, now: datetime) -> Telemetry | Rejection:
        """The contract's checks (the bridge ran them too, but not every producer is the bridge) and the
        placement headers' syntax. Never raises: an unexpected error is this message's rejection."""
        try:
            parsed = parse_telemetry(m.value, limits=self.limits, now=now)
        except Exception as exc:  # a validator bug must not stop the partition
            log.exception(
                "validation_error",
                machine_id=m.key[:128].decode(errors="replace") if m.key else None,  # the producer's key
                partition=m.partition,
                offset=m.offset,
            )
            return Rejection(f"validation failed: {type(exc).__name__}", code="processing")
        if isinstance(parsed, Telemetry):
            for name in ("site", "line"):
                value = m.headers.get(name)
                if value is not None and not valid_placement(value):
                    reason = f"header {name}: {value[:80]!r} is not a valid {name}"
                    return Rejection(reason, parsed.machine_id, "placement")
        return parsed

    async def _store_isolating(self, items: list[Accepted], now: datetime) -> tuple[list[Accepted], int, int]:
        return await self._isolating(items, lambda part: self._store(part, now))

    async def _isolating(
        self, items: list[Accepted], store: Callable[[list[Accepted]], Awaitable[tuple[int, int]]]
    ) -> tuple[list[Accepted], int, int]:
        """`store` the items; a failure that is not infrastructure is narrowed down by halving until the
        message that causes it stands alone, and that message is dead-lettered with the failing stage.
        Every stage is idempotent (rows ignore duplicates, the twin's timestamps ignore what it has), so
        a half stored twice is harmless. Returns (stored items, readings, machines)."""
        if not items:
            return [], 0, 0
        try:
            readings, machines = await store(items)
            return items, readings, machines
        except StageFailed as failure:
            cause = failure.__cause__ or failure
            if is_infrastructure(cause):
                raise
            if len(items) == 1:
                a = items[0]
                self.state.poison += 1
                log.error(
                    "poison_message",
                    stage=failure.stage,
                    error=str(failure)[:300],
                    machine_id=a.t.machine_id,
                    partition=a.msg.partition,
                    offset=a.msg.offset,
                )
                reason = f"could not be stored: {failure}"
                rejection = Rejection(reason, a.t.machine_id, "processing")
                await self._dead_letter(a.msg, rejection)
                return [], 0, 0
            log.warning("batch_isolating", stage=failure.stage, error=str(failure)[:300], messages=len(items))
            half = len(items) // 2
            first = await self._isolating(items[:half], store)
            second = await self._isolating(items[half:], store)
            return first[0] + second[0], first[1] + second[1], first[2] + second[2]

    async def _store(self, items: list[Accepted], now: datetime) -> tuple[int, int]:
        """Readings to the database, twins to Redis (and the change stream), then the twin registry, state
        snapshots and change log. While the database is out, the twins go first and the database writes
        wait (`_defer`). Returns (readings, machines). Raises StageFailed."""
        rows = message_instants(items)
        readings = sum(len(i.readings) for i in rows)
        updates = twin_updates([(a.t, a.headers) for a in items])
        if self.outage.active:
            await self._defer(items, readings, updates, now, applied=None)
            return readings, len(updates)
        stage = "database"
        changed: list[str] | None = None
        events: list[dict[str, object]] = []
        try:
            if rows:
                self._stored(readings, await self.db.run(store_instants(self.sessions, rows)))
            self._clock.lap("copy")
            stage = "twin"
            changed = await self.store.apply(updates, last_seen=iso_utc(now))
            self._clock.lap("redis")
            if self.events is not None:
                events = self.summaries.observe(changed, updates, now)
            if self.durable is not None:
                stage = "registry"
                await self.db.run(self.durable.registry.register_new(updates))
                self._clock.lap("registry")
                stage = "snapshot"
                await self.durable.snapshots.after_batch(changed)
                self._clock.lap("snapshot")
            if events and self.events is not None:
                stage = "change log"
                await self.db.run(self.events.record_many(events))
                self._clock.lap("changelog")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if stage in DATABASE_STAGES and is_infrastructure(exc):
                log.error("database_unavailable", stage=stage, error=describe(exc), action="twins stay live")
                await self._defer(items, readings, updates, now, applied=(changed, events))
                return readings, len(updates)
            raise StageFailed(stage, exc) from exc
        return readings, len(updates)

    async def _defer(
        self,
        items: list[Accepted],
        readings: int,
        updates: list[TwinUpdate],
        now: datetime,
        applied: tuple[list[str] | None, list[dict[str, object]]] | None,
    ) -> None:
        """The database is out: update the twins now (unless done), keep the database writes for later."""
        changed, events = applied if applied is not None else (None, [])
        try:
            if changed is None:
                changed = await self.store.apply(updates, last_seen=iso_utc(now))
                if self.events is not None:
                    events = self.summaries.observe(changed, updates, now)
                if self.durable is not None:
                    await self.durable.snapshots.after_batch(changed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise StageFailed("twin", exc) from exc
        self.outage.add(PendingWrite(list(items), updates, list(events), readings))
        self.state.outage_readings = self.outage.readings

    async def _flush_outage(self, force: bool = False) -> bool:
        """Write what waits for the database, oldest first, when a retry is due; True if anything was."""
        now = time.monotonic()
        if not (self.outage.due(now) or (force and self.outage.active)):
            self.state.outage_s = now - self.outage.since if self.outage.since is not None else 0.0
            return False
        since = self.outage.since or now
        written = 0
        while self.outage.active:
            try:
                await self._write_waiting(self.outage.pending[0])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.outage.failed(time.monotonic())
                self.state.outage_s = time.monotonic() - since
                self.state.last_error = describe(exc)
                log.warning(
                    "database_still_unavailable",
                    waiting_readings=self.outage.readings,
                    waiting_batches=len(self.outage.pending),
                    retry_in_s=self.outage.backoff,
                    error=describe(exc),
                )
                return written > 0
            self.outage.pop()
            written += 1
        self.state.outage_readings = 0
        self.state.outage_s = 0.0
        self.state.last_error = None
        log.info("database_recovered", outage_s=round(time.monotonic() - since, 1), batches_written=written)
        return True

    async def _write_waiting(self, write: PendingWrite) -> None:
        """A waiting batch's database writes. An infrastructure failure raises (retried later); a message
        the database refuses is found by halving and dead-lettered, as in a normal batch."""
        if write.readings:
            await self._isolating(write.items, self._store_rows)
            self.outage.stored(write)
        if self.durable is not None and write.updates:
            await self.db.run(self.durable.registry.register_new(write.updates))
            write.updates = []
        if self.events is not None and write.events:
            await self.db.run(self.events.record_many(write.events))
            write.events = []

    async def _store_rows(self, items: list[Accepted]) -> tuple[int, int]:
        rows = message_instants(items)
        readings = sum(len(i.readings) for i in rows)
        try:
            inserted = await self.db.run(store_instants(self.sessions, rows))
        except Exception as exc:
            raise StageFailed("database", exc) from exc
        self._stored(readings, inserted)
        return readings, len(items)

    async def _drain_outage(self) -> None:
        """The buffer is full: take no message until the database took the waiting ones (reported as a
        stall: readiness fails after stall_after_s)."""
        s = self.state
        s.failing_since = s.failing_since or time.monotonic()
        log.error("outage_buffer_full", waiting_readings=self.outage.readings, max=self.outage.max_readings)
        while self.outage.full:
            await asyncio.sleep(max(0.0, self.outage.next_try - time.monotonic()))
            await self._flush_outage(force=True)
            now = time.monotonic()
            if s.stalled_since is None and now - s.failing_since >= self.stall_after_s:
                s.stalled_since = s.failing_since
        s.failing_since = s.stalled_since = None
