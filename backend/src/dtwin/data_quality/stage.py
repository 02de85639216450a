"""The data-quality stage of the telemetry consumer: runs the cleansing rules (cleanse.py) on each batch,
keeps the counts per rule since this process started (the readiness output shows them) and writes what it
found to the database every `flush_s` (hourly counts per machine and rule, gap events, clock offsets), so
the API answers across restarts and over every backend process.

Delivery: counts wait in memory until a flush writes them; a backend that dies loses at most the last
`flush_s` of them, and a batch redelivered after a crash is counted again (the readings themselves are
idempotent, these counters are not). A flush that fails keeps its counts for the next one (bounded)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.telemetry import Telemetry
from dtwin.core.db import transaction
from dtwin.data_quality.cleanse import RULES, Assessment, Cleanser, Gap, Rule
from dtwin.data_quality.models import FLEET
from dtwin.data_quality.repository import CountKey, DataQualityRepository
from dtwin.kit.failures import describe

log = structlog.get_logger(__name__)

MAX_PENDING_GAPS = 100_000  # gap events waiting for the database; beyond, the oldest are dropped (logged)


def _epoch(s: float) -> datetime:
    return datetime.fromtimestamp(s, UTC)


class DataQualityStage:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cleanser: Cleanser,
        *,
        flush_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.cleanser = cleanser
        self.flush_s = flush_s
        self.clock = clock
        self.totals: dict[Rule, int] = dict.fromkeys(RULES, 0)  # since this process started
        self.corrected = 0  # messages whose timestamp the clock correction shifted
        self.dropped_gaps = 0
        self._counts: dict[CountKey, int] = {}
        self._gaps: list[Gap] = []

    # ------------------------------------------------------------------------------------ the consumer
    def assess(self, items: Sequence[Telemetry], recv: Sequence[float]) -> Assessment:
        """Before the batch is stored: which readings are out of their physical range (and, if enabled,
        the clock correction of their timestamps). Changes no state (a retried batch is assessed alike)."""
        return self.cleanser.assess(items, recv)

    def commit(self, a: Assessment) -> None:
        """The batch is stored: advance the per-machine state and count what it found."""
        found = self.cleanser.commit(a)
        self.corrected += a.corrected
        hour = self._hour()
        for (machine_id, rule), n in found.counts.items():
            self._add(machine_id, rule, n, hour)
        if found.gaps:
            self._gaps.extend(found.gaps)
            for g in found.gaps:
                start = _epoch(g.start).isoformat()
                log.info("data_gap", machine_id=g.machine_id, start=start, seconds=round(g.seconds, 3))

    def duplicates(self, n: int) -> None:
        """Readings the database already had (offered minus inserted): counted for the fleet, not per machine
        (the database answers per batch)."""
        if n > 0:
            self._add(FLEET, "duplicate", n, self._hour())

    def _add(self, machine_id: str, rule: Rule, n: int, hour: datetime) -> None:
        self.totals[rule] += n
        key = (machine_id, rule, hour)
        self._counts[key] = self._counts.get(key, 0) + n

    def _hour(self) -> datetime:
        now = self.clock()
        return _epoch(now - now % 3600)

    # ------------------------------------------------------------------------------------ persistence
    async def flush(self) -> bool:
        """Write the waiting counts, gaps and changed clock offsets in one transaction; on failure they wait
        for the next flush. True when written (or nothing waited)."""
        counts, gaps = self._counts, self._gaps
        offsets = self.cleanser.offsets()
        if not (counts or gaps or offsets):
            return True
        self._counts, self._gaps = {}, []
        try:
            async with transaction(self.sessions) as session:
                repo = DataQualityRepository(session)
                await repo.add_counts(counts)
                await repo.add_gaps([(g.machine_id, _epoch(g.start), _epoch(g.end), g.seconds) for g in gaps])
                await repo.set_offsets(offsets, _epoch(self.clock()))
        except asyncio.CancelledError:
            self._restore(counts, gaps)
            raise
        except Exception as exc:
            self._restore(counts, gaps)
            log.warning("data_quality_flush_failed", error=describe(exc), waiting_gaps=len(self._gaps))
            return False
        return True

    def _restore(self, counts: dict[CountKey, int], gaps: list[Gap]) -> None:
        for key, n in self._counts.items():
            counts[key] = counts.get(key, 0) + n
        self._counts = counts
        self._gaps = gaps + self._gaps
        if len(self._gaps) > MAX_PENDING_GAPS:
            drop = len(self._gaps) - MAX_PENDING_GAPS
            self.dropped_gaps += drop
            del self._gaps[:drop]
            log.error("data_gaps_dropped", dropped=drop, total_dropped=self.dropped_gaps)

    async def run(self) -> None:
        """Flush every `flush_s` forever (a supervised background task); a last flush when cancelled."""
        try:
            while True:
                await asyncio.sleep(self.flush_s)
                await self.flush()
        finally:  # stopping: what waits is written once more (a failure keeps it for nobody: logged)
            if not await self.flush():
                log.warning("data_quality_counts_lost", counts=len(self._counts), gaps=len(self._gaps))

    def snapshot(self) -> dict[str, int]:
        """Counts per rule since this process started (the consumer's readiness output)."""
        return {rule: n for rule, n in self.totals.items()}
