"""Every SQL statement of the anomalies room: stored anomaly events and strategy decisions (append-only,
numbered by the database). Takes one session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.anomalies.models import AnomalyEventRow, DecisionRow


class AnomalyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_events(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert event rows; returns their ids in the order given."""
        if not rows:
            return []
        stmt = insert(AnomalyEventRow).returning(AnomalyEventRow.id, sort_by_parameter_order=True)
        return list((await self.session.execute(stmt, list(rows))).scalars().all())

    async def add_decisions(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert decision rows; returns their ids in the order given."""
        if not rows:
            return []
        stmt = insert(DecisionRow).returning(DecisionRow.id, sort_by_parameter_order=True)
        return list((await self.session.execute(stmt, list(rows))).scalars().all())

    async def events(
        self, machine_id: str, *, start: datetime, end: datetime, limit: int
    ) -> list[AnomalyEventRow]:
        """The machine's events in [start, end], oldest first."""
        q = (
            select(AnomalyEventRow)
            .where(
                AnomalyEventRow.machine_id == machine_id,
                AnomalyEventRow.ts >= start,
                AnomalyEventRow.ts <= end,
            )
            .order_by(AnomalyEventRow.ts, AnomalyEventRow.id)
            .limit(limit)
        )
        return list((await self.session.scalars(q)).all())

    async def decisions(
        self, machine_id: str, *, start: datetime, end: datetime, limit: int
    ) -> list[DecisionRow]:
        """The machine's decisions in [start, end], oldest first."""
        q = (
            select(DecisionRow)
            .where(DecisionRow.machine_id == machine_id, DecisionRow.ts >= start, DecisionRow.ts <= end)
            .order_by(DecisionRow.ts, DecisionRow.id)
            .limit(limit)
        )
        return list((await self.session.scalars(q)).all())

    async def event_at(self, machine_id: str, at: datetime) -> AnomalyEventRow | None:
        """The machine's newest event at or before `at` (by time; of two at the same time, the later id)."""
        q = (
            select(AnomalyEventRow)
            .where(AnomalyEventRow.machine_id == machine_id, AnomalyEventRow.ts <= at)
            .order_by(AnomalyEventRow.ts.desc(), AnomalyEventRow.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(q)).first()

    async def decision_at(self, machine_id: str, at: datetime) -> DecisionRow | None:
        """The machine's newest decision at or before `at` (by time; of two at one time, the later id)."""
        q = (
            select(DecisionRow)
            .where(DecisionRow.machine_id == machine_id, DecisionRow.ts <= at)
            .order_by(DecisionRow.ts.desc(), DecisionRow.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(q)).first()

    async def newest_events(self, machine_ids: Collection[str] | None, limit: int) -> list[AnomalyEventRow]:
        """The newest `limit` events (of these machines, or of all), newest first."""
        q = select(AnomalyEventRow).order_by(AnomalyEventRow.id.desc()).limit(limit)
        if machine_ids is not None:
            q = q.where(AnomalyEventRow.machine_id.in_(sorted(machine_ids)))
        return list((await self.session.scalars(q)).all())

    async def newest_decisions(self, machine_ids: Collection[str] | None, limit: int) -> list[DecisionRow]:
        """The newest `limit` decisions (of these machines, or of all), newest first."""
        q = select(DecisionRow).order_by(DecisionRow.id.desc()).limit(limit)
        if machine_ids is not None:
            q = q.where(DecisionRow.machine_id.in_(sorted(machine_ids)))
        return list((await self.session.scalars(q)).all())
