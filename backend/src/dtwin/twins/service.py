"""Twin read model (live state from Redis)."""

from __future__ import annotations

from dtwin.errors import NotFound
from dtwin.twins.schemas import TwinList, TwinRead
from dtwin.twins.store import TwinStore


class TwinService:
    def __init__(self, store: TwinStore) -> None:
        self.store = store

    async def list(self) -> TwinList:
        items = [TwinRead.model_validate(t) for t in await self.store.get_all()]
        return TwinList(items=items, count=len(items))

    async def get(self, machine_id: str) -> TwinRead:
        twin = await self.store.get(machine_id)
        if twin is None:
            raise NotFound(f"no twin with id {machine_id!r}")
        return TwinRead.model_validate(twin)

    async def ensure_exists(self, machine_id: str) -> None:
        if not await self.store.exists(machine_id):
            raise NotFound(f"no twin with id {machine_id!r}")
