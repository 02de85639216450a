"""Every SQL statement of the machine-type registry (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import dialect_insert
from dtwin.machine_types.models import MachineTypeRow


class MachineTypeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str, *, lock: bool = False) -> MachineTypeRow | None:
        """The row, tombstones included; `lock` holds it (FOR UPDATE on PostgreSQL; SQLite serialises
        writers anyway) until the transaction ends."""
        q = select(MachineTypeRow).where(MachineTypeRow.name == name)
        if lock:
            q = q.with_for_update()
        return (await self.session.scalars(q)).one_or_none()

    async def page(self, *, after: str | None, limit: int) -> tuple[list[MachineTypeRow], int]:
        """Live types by name after `after`, at most `limit`, and how many live types there are."""
        live = MachineTypeRow.deleted.is_(False)
        q = select(MachineTypeRow).where(live).order_by(MachineTypeRow.name).limit(limit)
        if after is not None:
            q = q.where(MachineTypeRow.name > after)
        rows = list((await self.session.scalars(q)).all())
        count = (await self.session.scalar(select(func.count()).select_from(MachineTypeRow).where(live))) or 0
        return rows, count

    async def live(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(name, sensors) of every live type: what the scoring engine's ranges are built from."""
        q = select(MachineTypeRow.name, MachineTypeRow.sensors).where(MachineTypeRow.deleted.is_(False))
        return [(name, sensors) for name, sensors in (await self.session.execute(q)).all()]

    async def insert(self, values: dict[str, Any]) -> MachineTypeRow | None:
        """Insert a new type; None if the name exists (also as a tombstone)."""
        stmt = (
            dialect_insert(self.session)(MachineTypeRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(MachineTypeRow)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def insert_missing(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert the types whose name is not taken; existing rows (edited or deleted) stay as they are."""
        if rows:
            stmt = dialect_insert(self.session)(MachineTypeRow).on_conflict_do_nothing(
                index_elements=["name"]
            )
            await self.session.execute(stmt, list(rows))

    async def update(self, name: str, version: int, values: dict[str, Any]) -> MachineTypeRow | None:
        """Change the row if it is still at `version`; None if it moved on meanwhile (possible on SQLite,
        where `get(lock=True)` holds nothing)."""
        stmt = (
            update(MachineTypeRow)
            .where(MachineTypeRow.name == name, MachineTypeRow.version == version)
            .values(values)
            .returning(MachineTypeRow)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()
