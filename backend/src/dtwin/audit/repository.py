"""Every SQL statement of the audit room (table audit_log). Takes one session; the caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.audit.models import AuditRow


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # an actor's name or id, or "anonymous"
    machine_id: str | None = None
    method: str | None = None
    status_class: int | None = None  # 2 for 2xx, 4 for 4xx, ...
    start: datetime | None = None
    end: datetime | None = None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(AuditRow), list(rows))

    async def page(self, flt: AuditFilter, *, before_id: int | None, limit: int) -> list[AuditRow]:
        """Entries matching every filter, newest first (by id: the order they were written), older than
        `before_id` (the cursor) if given."""
        q = select(AuditRow)
        if flt.actor is not None:
            q = q.where(or_(AuditRow.actor_name == flt.actor, AuditRow.actor_id == flt.actor))
        if flt.machine_id is not None:
            q = q.where(AuditRow.machine_id == flt.machine_id)
        if flt.method is not None:
            q = q.where(AuditRow.method == flt.method)
        if flt.status_class is not None:
            low = flt.status_class * 100
            q = q.where(AuditRow.status >= low, AuditRow.status < low + 100)
        if flt.start is not None:
            q = q.where(AuditRow.ts >= flt.start)
        if flt.end is not None:
            q = q.where(AuditRow.ts <= flt.end)
        if before_id is not None:
            q = q.where(AuditRow.id < before_id)
        return list((await self.session.scalars(q.order_by(AuditRow.id.desc()).limit(limit))).all())

    async def prune(self, before: datetime) -> int:
        """Delete the entries older than `before`; the number deleted."""
        result = await self.session.execute(delete(AuditRow).where(AuditRow.ts < before))
        return int(getattr(result, "rowcount", 0) or 0)
