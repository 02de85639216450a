"""The telemetry consumer: per batch, validate -> write readings (idempotent) -> update Redis twins and
publish updates (one round trip) -> flush the DLQ -> commit offsets. Offsets are committed only after the
batch is durable; an infrastructure failure retries the same batch with backoff and commits nothing."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.anomalies.scoring import ScoringStage
from dtwin.contracts.telemetry import Rejection, Telemetry, iso_utc, parse_telemetry
from dtwin.core.bus import BusMessage, TelemetryBus
from dtwin.core.db import transaction
from dtwin.ingest.dlq import send_to_dlq
from dtwin.readings.repository import ReadingRepository, ReadingTuple
from dtwin.twins.durable import Durability
from dtwin.twins.events import ReportedSummarizer, TwinEventLog
from dtwin.twins.store import TwinStore

log = structlog.get_logger(__name__)


@dataclass
class ConsumerState:
    started: bool = False
    last_poll_monotonic: float = 0.0
    batches: int = 0
    messages: int = 0
    readings: int = 0
    rejected: int = 0
    retries: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class BatchResult:
    accepted: int
    rejected: int
    readings: int
    machines: int


def coalesce(accepted: list[tuple[Telemetry, dict[str, str]]]) -> list[dict[str, Any]]:
    """Latest state per machine in this batch, as TwinUpdate-shaped dicts for TwinStore.apply. Each property
    keeps its newest value; a value older than the update's ts carries its own time in `times`, so the
    store's per-property timestamp rule stays exact."""
    latest: dict[str, dict[str, Any]] = {}
    for t, headers in accepted:
        ts = iso_utc(t.ts)
        u = latest.get(t.machine_id)
        if u is None:
            u = latest[t.machine_id] = {
                "id": t.machine_id,
                "machine_type": t.machine_type,
                "site": None,
                "line": None,
                "ts": ts,
                "quality": t.quality,
                "readings": {},
                "reported": {},
                "times": {},
            }
        newer = ts >= u["ts"]
        if newer:
            u.update(ts=ts, quality=t.quality)
            if t.machine_type != "unknown":
                u["machine_type"] = t.machine_type
        u["site"] = (t.site or headers.get("site") or u["site"]) if newer else (u["site"] or t.site)
        u["line"] = (t.line or headers.get("line") or u["line"]) if newer else (u["line"] or t.line)
        for ns, values in (("r", t.readings), ("p", t.reported or {})):
            target = u["readings" if ns == "r" else "reported"]
            for name, value in values.items():
                key = f"{ns}:{name}"
                if name not in target or u["times"].get(key, u["ts"]) <= ts:
                    target[name] = value
                    u["times"][key] = ts
    for u in latest.values():  # only properties older than the update's own ts need their time
        u["times"] = {k: v for k, v in u["times"].items() if v != u["ts"]}
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
    ) -> None:
        self.bus = bus
        self.scoring = scoring
        self.durable = durable
        self.sessions = sessions
        self.store = store
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.group = group
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.events = events
        self.summaries = ReportedSummarizer()
        self.state = ConsumerState()

    async def run(self) -> None:
        consumer = self.bus.consumer([self.topic], self.group)
        try:
            await consumer.start()
            self.state.started = True
            log.info("consumer_started", topic=self.topic, group=self.group)
            while True:
                msgs = await consumer.getmany(self.poll_timeout_ms, self.max_records)
                self.state.last_poll_monotonic = time.monotonic()
                if not msgs:
                    continue
                await self._process_until_done(msgs)
                await consumer.commit()
        finally:
            self.state.started = False
            await consumer.stop()

    async def _process_until_done(self, msgs: list[BusMessage]) -> None:
        backoff = 0.2
        while True:
            try:
                await self.process_batch(msgs)
                self.state.last_error = None
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # infrastructure failure: retry the same batch, commit nothing
                self.state.retries += 1
                self.state.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("batch_retry", error=self.state.last_error, messages=len(msgs), backoff_s=backoff)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 10.0)
                self.state.last_poll_monotonic = time.monotonic()

    async def process_batch(self, msgs: list[BusMessage]) -> BatchResult:
        accepted: list[tuple[Telemetry, dict[str, str]]] = []
        rows: list[ReadingTuple] = []
        rejected = 0
        for m in msgs:
            parsed = parse_telemetry(m.value)
            if isinstance(parsed, Rejection):
                rejected += 1
                await send_to_dlq(self.bus, self.dlq_topic, m, parsed, stage="consumer")
                continue
            accepted.append((parsed, m.headers))
            mid, ts, q = parsed.machine_id, parsed.ts, parsed.quality
            rows.extend((mid, sensor, ts, value, q) for sensor, value in parsed.readings.items())

        if rows:
            async with transaction(self.sessions) as session:
                await ReadingRepository(session).insert_many(rows)
        updates = coalesce(accepted)
        now = datetime.now(UTC)
        changed = await self.store.apply(updates, last_seen=iso_utc(now))
        if self.scoring is not None:
            try:
                await self.scoring.process([t for t, _ in accepted])
            except Exception:  # analytics must not stop ingestion: the readings are stored either way
                log.exception("scoring_failed", messages=len(accepted))
        if self.durable is not None:
            await self.durable.registry.register_new(updates)
            await self.durable.snapshots.after_batch(changed)
        if self.events is not None:
            await self.events.record_many(self.summaries.observe(changed, updates, now))
        await self.bus.flush()  # the DLQ records are durable before offsets move

        s = self.state
        s.batches += 1
        s.messages += len(msgs)
        s.readings += len(rows)
        s.rejected += rejected
        if rejected:
            log.info("batch_rejections", rejected=rejected, dlq=self.dlq_topic)
        return BatchResult(len(accepted), rejected, len(rows), len(updates))
