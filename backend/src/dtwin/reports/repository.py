"""Every SQL statement of the reports room."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from dtwin.core.db import dialect_insert
from dtwin.reports.models import ReportDefinitionRow, ReportRunRow


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------------------------------------------------------------- definitions
    async def definitions(self) -> Sequence[ReportDefinitionRow]:
        return (
            await self.session.scalars(select(ReportDefinitionRow).order_by(ReportDefinitionRow.id))
        ).all()

    async def scheduled(self) -> Sequence[ReportDefinitionRow]:
        q = select(ReportDefinitionRow).where(
            ReportDefinitionRow.enabled.is_(True), ReportDefinitionRow.schedule.is_not(None)
        )
        return (await self.session.scalars(q)).all()

    async def definition(self, definition_id: int) -> ReportDefinitionRow | None:
        return await self.session.get(ReportDefinitionRow, definition_id)

    async def definition_named(self, name: str) -> ReportDefinitionRow | None:
        q = select(ReportDefinitionRow).where(ReportDefinitionRow.name == name)
        return (await self.session.scalars(q)).first()

    async def add_definition(self, row: ReportDefinitionRow) -> ReportDefinitionRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete_definition(self, definition_id: int) -> None:
        await self.session.execute(
            update(ReportRunRow).where(ReportRunRow.definition_id == definition_id).values(definition_id=None)
        )
        await self.session.execute(delete(ReportDefinitionRow).where(ReportDefinitionRow.id == definition_id))

    # ---------------------------------------------------------------- runs
    async def claim(self, values: dict[str, Any]) -> int | None:
        """Insert a run; None when (definition_id, scheduled_for) is already there (another backend, or an
        earlier tick of this one, claimed that firing)."""
        insert = dialect_insert(self.session)
        stmt = (
            insert(ReportRunRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["definition_id", "scheduled_for"])
            .returning(ReportRunRow.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_run(self, values: dict[str, Any]) -> int:
        row = ReportRunRow(**values)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def finish_run(self, run_id: int, **values: Any) -> None:
        await self.session.execute(update(ReportRunRow).where(ReportRunRow.id == run_id).values(**values))

    async def renew(self, run_id: int, until: datetime) -> bool:
        """Extend a running run's lease; False when it is not running any more (or not ours to renew)."""
        stmt = (
            update(ReportRunRow)
            .where(ReportRunRow.id == run_id, ReportRunRow.status == "running")
            .values(lease_until=until)
            .returning(ReportRunRow.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def expired(self, now: datetime, limit: int = 20) -> Sequence[ReportRunRow]:
        """Running runs whose lease ran out (NULL: from before leases), oldest first."""
        q = (
            select(ReportRunRow)
            .where(
                ReportRunRow.status == "running",
                or_(ReportRunRow.lease_until.is_(None), ReportRunRow.lease_until < now),
            )
            .order_by(ReportRunRow.id)
            .limit(limit)
        )
        return (await self.session.scalars(q)).all()

    async def take_over(self, run_id: int, now: datetime, until: datetime) -> int | None:
        """Claim an expired run for this backend (a new lease, one more attempt): its attempt number, or
        None when another backend took it first or it finished meanwhile. One UPDATE: among N, one wins."""
        stmt = (
            update(ReportRunRow)
            .where(
                ReportRunRow.id == run_id,
                ReportRunRow.status == "running",
                or_(ReportRunRow.lease_until.is_(None), ReportRunRow.lease_until < now),
            )
            .values(lease_until=until, attempts=ReportRunRow.attempts + 1)
            .returning(ReportRunRow.attempts)
        )
        got: int | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return got

    async def run(self, run_id: int) -> ReportRunRow | None:
        return await self.session.get(ReportRunRow, run_id)

    async def runs(self, limit: int, definition_id: int | None = None) -> Sequence[ReportRunRow]:
        q = select(ReportRunRow).order_by(ReportRunRow.id.desc()).limit(limit)
        if definition_id is not None:
            q = q.where(ReportRunRow.definition_id == definition_id)
        return (await self.session.scalars(q)).all()

    async def runs_for(self, definition_id: int, scheduled_for: datetime) -> Sequence[ReportRunRow]:
        q = select(ReportRunRow).where(
            ReportRunRow.definition_id == definition_id, ReportRunRow.scheduled_for == scheduled_for
        )
        return (await self.session.scalars(q)).all()

    async def file(self, run_id: int, fmt: str) -> tuple[ReportRunRow, bytes | None] | None:
        column = ReportRunRow.pdf if fmt == "pdf" else ReportRunRow.csv
        q = select(ReportRunRow).options(undefer(column)).where(ReportRunRow.id == run_id)
        row = (await self.session.scalars(q)).first()
        if row is None:
            return None
        return row, row.pdf if fmt == "pdf" else row.csv
