"""Every SQL statement of the twins room: the durable twin rows (`twins`: identity, placement, attributes,
desired state) and the change log (`twin_events`). Takes one session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import dialect_insert
from dtwin.twins.models import TwinEventRow, TwinRow


class TwinRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ twins
    async def add_new(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert twin rows, leaving the ones whose id is already stored as they are (idempotent)."""
        if not rows:
            return
        stmt = dialect_insert(self.session)(TwinRow).on_conflict_do_nothing(index_elements=["id"])
        await self.session.execute(stmt, list(rows))

    async def upsert(self, row: dict[str, Any]) -> None:
        """Insert the twin row, or overwrite every column of the stored one except `id` and `created_at`."""
        stmt = dialect_insert(self.session)(TwinRow).values(row)
        keep = {k: stmt.excluded[k] for k in row if k not in ("id", "created_at")}
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=keep))

    async def set_command(self, machine_id: str, command: dict[str, Any] | None, at: datetime) -> None:
        await self.session.execute(
            update(TwinRow).where(TwinRow.id == machine_id).values(command=command, updated_at=at)
        )

    async def delete(self, machine_id: str) -> None:
        await self.session.execute(delete(TwinRow).where(TwinRow.id == machine_id))

    async def all(self) -> list[TwinRow]:
        return list((await self.session.scalars(select(TwinRow))).all())

    # ------------------------------------------------------------------ change log
    async def add_events(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append change-log entries: {machine_id, ts (aware datetime), kind, version, details, actor}."""
        if entries:
            await self.session.execute(insert(TwinEventRow), list(entries))

    async def events_page(
        self,
        machine_id: str,
        *,
        kinds: Sequence[str] | None,
        start: datetime | None,
        end: datetime | None,
        before_id: int | None,
        limit: int,
    ) -> list[TwinEventRow]:
        """The machine's change-log entries, newest first, older than `before_id` (the cursor) if given."""
        q = select(TwinEventRow).where(TwinEventRow.machine_id == machine_id)
        if kinds:
            q = q.where(TwinEventRow.kind.in_(kinds))
        if start is not None:
            q = q.where(TwinEventRow.ts >= start)
        if end is not None:
            q = q.where(TwinEventRow.ts <= end)
        if before_id is not None:
            q = q.where(TwinEventRow.id < before_id)
        return list((await self.session.scalars(q.order_by(TwinEventRow.id.desc()).limit(limit))).all())

    async def events_until(self, machine_id: str, at: datetime, kinds: Sequence[str]) -> list[TwinEventRow]:
        """The machine's change-log entries of these kinds with `ts` at or before `at`, oldest first (by id:
        the order they were recorded in)."""
        q = (
            select(TwinEventRow)
            .where(TwinEventRow.machine_id == machine_id, TwinEventRow.kind.in_(kinds), TwinEventRow.ts <= at)
            .order_by(TwinEventRow.id)
        )
        return list((await self.session.scalars(q)).all())

    async def first_event_after(self, machine_id: str, after_id: int | None) -> TwinEventRow | None:
        """The machine's first change-log entry (any kind) with an id above `after_id` (None: of all)."""
        q = select(TwinEventRow).where(TwinEventRow.machine_id == machine_id)
        if after_id is not None:
            q = q.where(TwinEventRow.id > after_id)
        return (await self.session.scalars(q.order_by(TwinEventRow.id).limit(1))).first()

    async def events_of_machines(
        self, machine_ids: Sequence[str], kind: str, since: datetime, limit: int
    ) -> list[TwinEventRow]:
        """The newest `limit` entries of one kind per call (over all these machines) with `ts` at or after
        `since`, oldest first."""
        q = (
            select(TwinEventRow)
            .where(
                TwinEventRow.machine_id.in_(list(machine_ids)),
                TwinEventRow.kind == kind,
                TwinEventRow.ts >= since,
            )
            .order_by(TwinEventRow.id.desc())
            .limit(limit)
        )
        return list(reversed((await self.session.scalars(q)).all()))
