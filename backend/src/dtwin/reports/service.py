"""Business rules of the reports room: definitions (CRUD) and runs (gather through the rooms' services,
render off the event loop, store, email). `ReportRunner` is process-wide (built in the lifespan, on
app.state.report_runner); the scheduler, the API's on-demand runs and `dtwin report run` share it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.anomalies.service import LiveAnalytics
from dtwin.config import Settings
from dtwin.core.db import transaction
from dtwin.errors import Conflict, NotFound
from dtwin.forecast.service import Forecaster
from dtwin.readings.history import ArchiveIndex
from dtwin.reports.gather import Sources
from dtwin.reports.kinds import GATHERERS
from dtwin.reports.mail import ReportMailer, build_message
from dtwin.reports.models import ReportDefinitionRow, ReportRunRow
from dtwin.reports.periods import next_fire, period_bounds
from dtwin.reports.render import period_text, render
from dtwin.reports.repository import ReportRepository
from dtwin.reports.schemas import (
    ReportDefinitionIn,
    ReportDefinitionRead,
    ReportList,
    ReportRunRead,
    ReportSpec,
)
from dtwin.twins.service import TwinService

log = structlog.get_logger(__name__)
NO_SMTP = "no SMTP server configured (DTWIN_NOTIFY_SMTP_HOST)"


def run_read(row: ReportRunRow) -> ReportRunRead:
    read = ReportRunRead.model_validate(row)
    read.formats = list(row.spec.get("formats", [])) if row.status == "succeeded" else []
    return read


def spec_of(row: ReportDefinitionRow) -> ReportSpec:
    return ReportSpec(
        name=row.name,
        kind=row.kind,
        scope=row.scope,
        site=row.site,
        period=row.period,
        recipients=list(row.recipients),
        formats=list(row.formats),
    )


class ReportService:
    """One request's unit of work on report definitions and stored runs."""

    def __init__(
        self, session: AsyncSession, plant_tz: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.repo = ReportRepository(session)
        self.session = session
        self.plant_tz = plant_tz
        self.clock = clock or (lambda: datetime.now(UTC))

    def _read(self, row: ReportDefinitionRow) -> ReportDefinitionRead:
        read = ReportDefinitionRead.model_validate(row)
        if row.schedule and row.enabled:
            read.next_run_at = next_fire(row.schedule, self.clock(), self.plant_tz)
        return read

    async def _row(self, definition_id: int) -> ReportDefinitionRow:
        row = await self.repo.definition(definition_id)
        if row is None:
            raise NotFound(f"no report definition {definition_id}")
        return row

    async def overview(self, runs: int) -> ReportList:
        return ReportList(
            definitions=[self._read(r) for r in await self.repo.definitions()],
            runs=[run_read(r) for r in await self.repo.runs(runs)],
        )

    async def get(self, definition_id: int) -> ReportDefinitionRead:
        return self._read(await self._row(definition_id))

    async def spec(self, definition_id: int) -> tuple[ReportSpec, ReportDefinitionRow]:
        row = await self._row(definition_id)
        return spec_of(row), row

    async def _check_name(self, name: str, definition_id: int | None) -> None:
        other = await self.repo.definition_named(name)
        if other is not None and other.id != definition_id:
            raise Conflict(f"a report definition named {name!r} exists (id {other.id})")

    async def create(self, body: ReportDefinitionIn, actor: str) -> ReportDefinitionRead:
        await self._check_name(body.name, None)
        now = self.clock()
        row = ReportDefinitionRow(**body.model_dump(), created_at=now, updated_at=now, updated_by=actor)
        try:
            await self.repo.add_definition(row)
        except IntegrityError as exc:  # a concurrent create of the same name
            raise Conflict(f"a report definition named {body.name!r} exists") from exc
        return self._read(row)

    async def replace(self, definition_id: int, body: ReportDefinitionIn, actor: str) -> ReportDefinitionRead:
        row = await self._row(definition_id)
        await self._check_name(body.name, definition_id)
        for key, value in body.model_dump().items():
            setattr(row, key, value)
        row.updated_at, row.updated_by = self.clock(), actor
        await self.session.flush()
        return self._read(row)

    async def delete(self, definition_id: int) -> None:
        await self._row(definition_id)
        await self.repo.delete_definition(definition_id)

    async def run(self, run_id: int) -> ReportRunRead:
        row = await self.repo.run(run_id)
        if row is None:
            raise NotFound(f"no report run {run_id}")
        return run_read(row)

    async def file(self, run_id: int, fmt: str) -> tuple[ReportRunRead, bytes]:
        found = await self.repo.file(run_id, fmt)
        if found is None:
            raise NotFound(f"no report run {run_id}")
        row, data = found
        if data is None:
            raise NotFound(f"report run {run_id} has no {fmt.upper()} (status {row.status})")
        return run_read(row), data


@dataclass
class RunOutcome:
    run_id: int
    status: str


class ReportRunner:
    """Runs reports: claim (or add) the run row, gather in one session, render in a worker thread, store
    the files, email them. A failure is stored on the run (status failed, `error`), never raised."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        twins: TwinService,
        live: LiveAnalytics,
        settings: Settings,
        mailer: ReportMailer | None,
        clock: Callable[[], datetime] | None = None,
        archive: ArchiveIndex | None = None,
        forecaster: Forecaster | None = None,
    ) -> None:
        self.sessions = sessions
        self.twins = twins
        self.live = live
        self.settings = settings
        self.mailer = mailer
        self.clock = clock or (lambda: datetime.now(UTC))
        self.archive = archive
        self.forecaster = forecaster

    def period(self, spec: ReportSpec, at: datetime) -> tuple[datetime, datetime]:
        return period_bounds(spec.period, at, self.settings.plant_tz)

    async def run(
        self,
        spec: ReportSpec,
        start: datetime,
        end: datetime,
        *,
        trigger: str,
        definition_id: int | None = None,
        scheduled_for: datetime | None = None,
        email: bool = True,
    ) -> RunOutcome | None:
        """The run's outcome; None when `scheduled_for` was already claimed (by another backend)."""
        values: dict[str, Any] = {
            "definition_id": definition_id,
            "scheduled_for": scheduled_for,
            "kind": spec.kind,
            "spec": spec.model_dump(mode="json"),
            "period_start": start,
            "period_end": end,
            "status": "running",
            "summary": {},
            "created_at": self.clock(),
            "emailed_to": [],
            "trigger": trigger,
            "lease_until": self._lease(),
            "attempts": 1,
        }
        async with transaction(self.sessions) as session:
            repo = ReportRepository(session)
            if scheduled_for is not None:
                claimed = await repo.claim(values)
                if claimed is None:
                    return None
                run_id = claimed
            else:
                run_id = await repo.add_run(values)
        log.info("report_run_started", run=run_id, kind=spec.kind, name=spec.name, trigger=trigger)
        return await self._execute(run_id, spec, start, end, email=email)

    def _lease(self) -> datetime:
        return self.clock() + timedelta(seconds=self.settings.report_lease_s)

    async def _execute(
        self, run_id: int, spec: ReportSpec, start: datetime, end: datetime, *, email: bool
    ) -> RunOutcome:
        """Gather, render, store and email a claimed run, renewing its lease meanwhile."""
        renewer = asyncio.create_task(self._renew(run_id), name=f"report-lease-{run_id}")
        try:
            return await self._produce(run_id, spec, start, end, email=email)
        finally:
            renewer.cancel()
            await asyncio.wait([renewer])

    async def _renew(self, run_id: int) -> None:
        every = self.settings.report_lease_s / 3
        while True:
            await asyncio.sleep(every)
            try:
                async with transaction(self.sessions) as session:
                    if not await ReportRepository(session).renew(run_id, self._lease()):
                        return
            except (SQLAlchemyError, OSError) as exc:  # the database away: the next renewal may succeed
                log.warning("report_lease_renewal_failed", run=run_id, error=f"{type(exc).__name__}: {exc}")

    async def recover(self, now: datetime) -> list[int]:
        """Runs whose lease ran out (the backend running them died): a scheduled run is taken over and run
        again here, up to DTWIN_REPORT_MAX_ATTEMPTS attempts in all; an on-demand run (its requester is
        gone with it) or one out of attempts is marked failed. Among N backends one takes each (one UPDATE).
        The ids of the runs this call finished."""
        async with transaction(self.sessions) as session:
            expired = list(await ReportRepository(session).expired(now))
        done: list[int] = []
        for row in expired:
            retry = row.trigger == "schedule" and row.attempts < self.settings.report_max_attempts
            async with transaction(self.sessions) as session:
                repo = ReportRepository(session)
                attempt = await repo.take_over(row.id, now, self._lease())
                if attempt is None:
                    continue  # another backend took it, or it finished after all
                if not retry:
                    error = (
                        f"abandoned: the backend running it stopped, {row.attempts} attempt(s)"
                        if row.trigger == "schedule"
                        else "abandoned: the process running it stopped before it finished; run it again"
                    )
                    await repo.finish_run(
                        row.id, status="failed", finished_at=self.clock(), lease_until=None, error=error
                    )
            if not retry:
                log.warning("report_run_abandoned", run=row.id, attempts=row.attempts, trigger=row.trigger)
                done.append(row.id)
                continue
            log.warning("report_run_taken_over", run=row.id, attempt=attempt)
            try:
                spec = ReportSpec.model_validate(row.spec)
            except ValidationError as exc:
                await self._finish(row.id, status="failed", error=f"the stored spec is invalid: {exc}")
                done.append(row.id)
                continue
            outcome = await self._execute(row.id, spec, row.period_start, row.period_end, email=True)
            done.append(outcome.run_id)
        return done

    async def _produce(
        self, run_id: int, spec: ReportSpec, start: datetime, end: datetime, *, email: bool
    ) -> RunOutcome:
        try:
            async with transaction(self.sessions) as session:
                src = Sources(
                    session,
                    self.twins,
                    self.live,
                    self.settings,
                    self.settings.report_top,
                    self.clock,
                    self.archive,
                    self.forecaster,
                )
                content = await GATHERERS[spec.kind](src, spec, start, end)
            files = await asyncio.to_thread(render, content, list(spec.formats))
        except Exception as exc:
            log.exception("report_run_failed", run=run_id)
            await self._finish(run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
            return RunOutcome(run_id, "failed")
        await self._finish(
            run_id,
            status="succeeded",
            has_data=content.has_data,
            summary=content.summary(),
            pdf=files.get("pdf"),
            csv=files.get("csv"),
        )
        if email and spec.recipients:
            await self._email(run_id, spec, content.title, period_text(content), files)
        log.info("report_run_finished", run=run_id, has_data=content.has_data)
        return RunOutcome(run_id, "succeeded")

    async def _finish(self, run_id: int, **values: Any) -> None:
        """The run's outcome; it holds no lease any more."""
        async with transaction(self.sessions) as session:
            await ReportRepository(session).finish_run(
                run_id, finished_at=self.clock(), lease_until=None, **values
            )

    async def _email(
        self, run_id: int, spec: ReportSpec, title: str, period: str, files: dict[str, bytes]
    ) -> None:
        recipients = list(spec.recipients)
        if self.mailer is None:
            await self._email_done(run_id, [], NO_SMTP)
            return
        stem = f"report-{run_id}-{spec.kind}"
        body = f"{title}\nPeriod: {period}\n\nAttached: {', '.join(f'{stem}.{f}' for f in sorted(files))}\n"
        msg = build_message(
            self.mailer.config.sender, recipients, f"[dtwin] {title} ({period})", body, files, stem
        )
        try:
            await self.mailer.send(msg)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("report_email_failed", run=run_id, error=str(exc))
            await self._email_done(run_id, [], f"{type(exc).__name__}: {exc}")
            return
        await self._email_done(run_id, recipients, None)

    async def _email_done(self, run_id: int, to: Sequence[str], error: str | None) -> None:
        async with transaction(self.sessions) as session:
            await ReportRepository(session).finish_run(run_id, emailed_to=list(to), email_error=error)
