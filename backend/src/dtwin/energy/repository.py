"""Every SQL statement of the energy room (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.energy.models import TariffRow, TariffVersionRow


class TariffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[tuple[TariffRow, list[TariffVersionRow]]]:
        tariffs = list((await self.session.scalars(select(TariffRow).order_by(TariffRow.id))).all())
        versions = await self._versions([t.id for t in tariffs])
        return [(t, versions.get(t.id, [])) for t in tariffs]

    async def get(self, tariff_id: int) -> tuple[TariffRow, list[TariffVersionRow]] | None:
        row = await self.session.get(TariffRow, tariff_id)
        if row is None:
            return None
        return row, (await self._versions([tariff_id])).get(tariff_id, [])

    async def by_scope(self, scope: str) -> tuple[TariffRow, list[TariffVersionRow]] | None:
        row = await self.session.scalar(select(TariffRow).where(TariffRow.scope == scope))
        if row is None:
            return None
        return row, (await self._versions([row.id])).get(row.id, [])

    async def _versions(self, ids: Sequence[int]) -> dict[int, list[TariffVersionRow]]:
        if not ids:
            return {}
        v = TariffVersionRow
        rows = (
            await self.session.scalars(select(v).where(v.tariff_id.in_(ids)).order_by(v.valid_from))
        ).all()
        out: dict[int, list[TariffVersionRow]] = {}
        for r in rows:
            out.setdefault(r.tariff_id, []).append(r)
        return out

    async def add(self, scope: str, name: str, currency: str, now: datetime) -> TariffRow:
        row = TariffRow(scope=scope, name=name, currency=currency, version=1, created_at=now, updated_at=now)
        self.session.add(row)
        await self.session.flush()
        return row

    async def replace_versions(self, tariff_id: int, versions: Sequence[dict[str, Any]]) -> None:
        await self.session.execute(delete(TariffVersionRow).where(TariffVersionRow.tariff_id == tariff_id))
        self.session.add_all(TariffVersionRow(tariff_id=tariff_id, **v) for v in versions)
        await self.session.flush()
