"""The audit trail's rules: recording off the request path (a bounded queue drained by one background task
that writes in batches) and reading it back for admins."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.audit.context import ANONYMOUS, Actor
from dtwin.audit.repository import AuditFilter, AuditRepository
from dtwin.audit.schemas import AuditEntryRead, AuditList
from dtwin.auth.service import AuthService
from dtwin.core.db import transaction

log = structlog.get_logger(__name__)

BATCH = 500


@dataclass
class PendingEntry:
    """A call waiting to be written. `credential` is only held (never stored) for calls whose route did
    not resolve its caller: the recorder resolves it after the response."""

    ts: datetime
    method: str
    route: str
    path_params: dict[str, Any]
    machine_id: str | None
    status: int
    client_ip: str | None
    user_agent: str | None
    request_id: str
    details: dict[str, Any] = field(default_factory=dict)
    actor: Actor | None = None
    credential: str | None = field(default=None, repr=False)


class AuditRecorder:
    """Takes entries from the request path without waiting (`submit`) and writes them in the background.
    When the queue is full the entry is dropped and counted (`dropped`, logged): the request path never
    waits on the audit table (docs/decisions.md). A failed write is logged with the entries' request ids
    and counted (`failed`); it never reaches the caller."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], auth: AuthService | None, maxsize: int = 10_000
    ) -> None:
        self.sessions = sessions
        self.auth = auth
        self.queue: asyncio.Queue[PendingEntry] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0
        self.failed = 0

    def submit(self, entry: PendingEntry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "audit_entry_dropped",
                    dropped=self.dropped,
                    request_id=entry.request_id,
                    method=entry.method,
                    route=entry.route,
                    status=entry.status,
                )

    async def run(self) -> None:
        """Drain forever; on cancellation write what is still queued, then stop."""
        try:
            while True:
                batch = [await self.queue.get()]
                while len(batch) < BATCH and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                await self._write_done(batch)
        except asyncio.CancelledError:
            rest: list[PendingEntry] = []
            while not self.queue.empty():
                rest.append(self.queue.get_nowait())
            if rest:
                await self._write_done(rest)
            raise

    async def drained(self) -> None:
        """Wait until every submitted entry is written (or given up on): for tests and shutdown."""
        await self.queue.join()

    async def _write_done(self, batch: list[PendingEntry]) -> None:
        try:
            await self._write(batch)
        except Exception:
            self.failed += len(batch)
            log.exception("audit_not_recorded", count=len(batch), request_ids=[e.request_id for e in batch])
        finally:
            for _ in batch:
                self.queue.task_done()

    async def _write(self, batch: list[PendingEntry]) -> None:
        rows = []
        for entry in batch:
            actor = entry.actor or await self._resolve(entry)
            row = asdict(entry)
            row.pop("actor")
            row.pop("credential")
            row.update(actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name)
            rows.append(row)
        async with transaction(self.sessions) as session:
            await AuditRepository(session).add_many(rows)

    async def _resolve(self, entry: PendingEntry) -> Actor:
        """The caller of a route that did not resolve it: from the credential it sent, if any."""
        credential, entry.credential = entry.credential, None
        if not credential or self.auth is None:
            return ANONYMOUS
        try:
            identity = await self.auth.authenticate(credential)
        except Exception:  # an invalid credential (401) or a failed lookup: recorded as anonymous
            entry.details = {**entry.details, "credentials": "invalid"}
            return ANONYMOUS
        return Actor(identity.kind, identity.id, identity.name)


class AuditService:
    """Reads the audit trail (one request's session)."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = AuditRepository(session)

    async def page(self, flt: AuditFilter, *, before_id: int | None, limit: int) -> AuditList:
        rows = await self.repo.page(flt, before_id=before_id, limit=limit)
        items = [AuditEntryRead.model_validate(r) for r in rows]
        return AuditList(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)


async def prune(sessions: async_sessionmaker[AsyncSession], before: datetime) -> int:
    """Delete the audit entries older than `before`; how many were deleted."""
    async with transaction(sessions) as session:
        return await AuditRepository(session).prune(before)
