"""The report scheduler, a supervised lifespan task in every backend: each tick, every enabled definition
with a schedule whose latest firing (cron in the plant's time zone) is due and not older than
DTWIN_REPORT_MAX_LATENESS_S is claimed by inserting its run with (definition_id, scheduled_for): a unique
key, so among N backends exactly one inserts it and runs the report; the others find it taken. Only the
latest missed firing is caught up (a backend down for a week sends one weekly report, not seven dailies).
A run holds a lease its runner renews; a run whose backend died mid-way is taken over by the next tick of
any backend once its lease has run out (ReportRunner.recover)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from dtwin.core.db import transaction
from dtwin.reports.periods import previous_fire
from dtwin.reports.repository import ReportRepository
from dtwin.reports.service import ReportRunner, spec_of

log = structlog.get_logger(__name__)


class ReportScheduler:
    def __init__(
        self,
        runner: ReportRunner,
        *,
        interval_s: float,
        max_lateness_s: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.runner = runner
        self.interval_s = interval_s
        self.max_lateness_s = max_lateness_s
        self.clock = clock or (lambda: datetime.now(UTC))

    async def tick(self, now: datetime | None = None) -> list[int]:
        """Claim and run what is due at `now`; the ids of the runs this scheduler ran."""
        now = now or self.clock()
        tz = self.runner.settings.plant_tz
        ran = await self.runner.recover(now)  # runs whose backend died first: they are older
        async with transaction(self.runner.sessions) as session:
            definitions = list(await ReportRepository(session).scheduled())
        for d in definitions:
            assert d.schedule is not None
            fire = previous_fire(d.schedule, now, tz)
            if fire < d.created_at or (now - fire).total_seconds() > self.max_lateness_s:
                continue
            spec = spec_of(d)
            start, end = self.runner.period(spec, fire)
            outcome = await self.runner.run(
                spec, start, end, trigger="schedule", definition_id=d.id, scheduled_for=fire
            )
            if outcome is not None:
                ran.append(outcome.run_id)
        return ran

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the database out, say: try again next tick
                log.exception("report_scheduler_tick_failed")
            await asyncio.sleep(self.interval_s)
