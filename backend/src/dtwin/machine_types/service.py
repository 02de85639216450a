"""Business rules of the machine-type registry: versions and preconditions, deletion only while no twin
has the type, seeding from the simulator's catalogue, and keeping the scoring engine's ranges current."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import after_commit
from dtwin.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from dtwin.machine_types.ranges import OperatingRanges
from dtwin.machine_types.repository import MachineTypeRepository
from dtwin.machine_types.schemas import MachineTypeList, MachineTypePut, MachineTypeRead
from dtwin.twins.store import TwinStore


def _document(body: MachineTypePut) -> dict[str, Any]:
    return {
        "description": body.description,
        "sensors": [s.model_dump(exclude_none=True) for s in body.sensors],
    }


class MachineTypeService:
    """One request's view of the registry (its session commits or rolls back with the request). Changes
    reach this process's scoring ranges when the transaction commits; other processes refresh theirs."""

    def __init__(
        self,
        session: AsyncSession,
        twins: TwinStore | None = None,
        ranges: OperatingRanges | None = None,
    ) -> None:
        self.repo = MachineTypeRepository(session)
        self.session = session
        self.twins = twins
        self.ranges = ranges

    async def page(self, *, cursor: str | None, limit: int) -> MachineTypeList:
        rows, count = await self.repo.page(after=cursor, limit=limit)
        items = [MachineTypeRead.model_validate(r) for r in rows]
        return MachineTypeList(
            items=items, count=count, next_cursor=items[-1].name if len(items) == limit else None
        )

    async def get(self, name: str) -> MachineTypeRead:
        row = await self.repo.get(name)
        if row is None or row.deleted:
            raise NotFound(f"no machine type {name!r}")
        return MachineTypeRead.model_validate(row)

    async def put(
        self, name: str, body: MachineTypePut, if_match: int | None = None
    ) -> tuple[MachineTypeRead, bool]:
        """Create or replace a type; True when it was created. With `if_match` only if the type exists at
        that version (412 otherwise). Sending the stored document again changes nothing (same version)."""
        if body.name is not None and body.name != name:
            raise InvalidInput(f"body name {body.name!r} differs from the path's {name!r}")
        doc = _document(body)
        row = await self.repo.get(name, lock=True)
        if if_match is not None and (row is None or row.deleted or row.version != if_match):
            current = "does not exist" if row is None or row.deleted else f"is at version {row.version}"
            raise PreconditionFailed(f"machine type {name!r} {current}, not {if_match}; read it again")
        now = datetime.now(UTC)
        if row is None:
            first = {"name": name, **doc, "version": 1, "deleted": False}
            inserted = await self.repo.insert({**first, "created_at": now, "updated_at": now})
            if inserted is not None:
                self._on_commit(name, doc["sensors"])
                return MachineTypeRead.model_validate(inserted), True
            # another request created it since our read (PostgreSQL let us wait for it): replace that
            row = await self.repo.get(name, lock=True)
            if row is None:
                raise Conflict(f"machine type {name!r} changed at the same time; retry")
        if not row.deleted and {"description": row.description, "sensors": row.sensors} == doc:
            return MachineTypeRead.model_validate(row), False
        values = {**doc, "version": row.version + 1, "deleted": False, "updated_at": now}
        if row.deleted:
            values["created_at"] = now  # re-created after a delete: the version sequence continues
        recreated = row.deleted  # read before the update refreshes `row` (the same identity)
        updated = await self.repo.update(name, row.version, values)
        if updated is None:
            raise Conflict(f"machine type {name!r} changed at the same time; read it and retry")
        self._on_commit(name, doc["sensors"])
        return MachineTypeRead.model_validate(updated), recreated

    async def delete(self, name: str, if_match: int | None = None) -> None:
        """Delete a type nobody uses: 409 while any twin has it. The row stays as a tombstone, so startup
        seeding does not bring a deleted catalogue type back."""
        row = await self.repo.get(name, lock=True)
        if row is None or row.deleted:
            raise NotFound(f"no machine type {name!r}")
        if if_match is not None and row.version != if_match:
            raise PreconditionFailed(f"machine type {name!r} is at version {row.version}, not {if_match}")
        if self.twins is not None:
            users = await self.twins.ids_of_type(name)
            if users:
                ids = ", ".join(users[:5]) + (", ..." if len(users) > 5 else "")
                raise Conflict(f"{len(users)} twin(s) have machine type {name!r} ({ids}); delete them first")
        tombstone = {"deleted": True, "version": row.version + 1, "updated_at": datetime.now(UTC)}
        if await self.repo.update(name, row.version, tombstone) is None:
            raise Conflict(f"machine type {name!r} changed at the same time; read it and retry")
        self._on_commit(name, None)

    async def seed(self, types: Sequence[MachineTypePut]) -> None:
        """Insert the given types (with names) that the registry has never had; a type that exists, was
        edited or was deleted is left exactly as it is. Safe when several processes start at once."""
        now = datetime.now(UTC)
        rows = [
            {
                "name": t.name,
                **_document(t),
                "version": 1,
                "deleted": False,
                "created_at": now,
                "updated_at": now,
            }
            for t in types
            if t.name is not None
        ]
        await self.repo.insert_missing(rows)

    def _on_commit(self, name: str, sensors: list[dict[str, Any]] | None) -> None:
        ranges = self.ranges
        if ranges is not None:
            after_commit(self.session, lambda: ranges.set_type(name, sensors))
