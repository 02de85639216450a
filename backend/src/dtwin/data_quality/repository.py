"""Every SQL statement of the data-quality room (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import dialect_insert
from dtwin.data_quality.models import FLEET, ClockOffsetRow, DataGapRow, DataQualityCountRow

CountKey = tuple[str, str, datetime]  # (machine_id, rule, hour)


class DataQualityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------------------------------ writes
    async def add_counts(self, counts: dict[CountKey, int]) -> None:
        """Add to the hourly counts (a row per machine, rule and hour; another process's counts add up)."""
        if not counts:
            return
        rows = [{"machine_id": m, "rule": r, "hour": h, "count": n} for (m, r, h), n in counts.items()]
        stmt = dialect_insert(self.session)(DataQualityCountRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["machine_id", "rule", "hour"],
            set_={"count": DataQualityCountRow.count + stmt.excluded.count},
        )
        await self.session.execute(stmt, rows)

    async def add_gaps(self, gaps: Sequence[tuple[str, datetime, datetime, float]]) -> None:
        if gaps:
            rows = [{"machine_id": m, "start": s, "end": e, "seconds": sec} for m, s, e, sec in gaps]
            await self.session.execute(dialect_insert(self.session)(DataGapRow), rows)

    async def set_offsets(self, offsets: Sequence[tuple[str, float, int]], now: datetime) -> None:
        if not offsets:
            return
        rows = [{"machine_id": m, "offset_s": o, "samples": n, "updated_at": now} for m, o, n in offsets]
        stmt = dialect_insert(self.session)(ClockOffsetRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["machine_id"],
            set_={"offset_s": stmt.excluded.offset_s, "samples": stmt.excluded.samples, "updated_at": now},
        )
        await self.session.execute(stmt, rows)

    # ------------------------------------------------------------------------------------------ reads
    async def totals(self, start: datetime, end: datetime, machine_id: str | None = None) -> dict[str, int]:
        """rule -> count over the hours in [start, end) (of one machine, or of everything)."""
        c = DataQualityCountRow
        q = select(c.rule, func.sum(c.count)).where(c.hour >= start, c.hour < end).group_by(c.rule)
        if machine_id is not None:
            q = q.where(c.machine_id == machine_id)
        return {rule: int(n) for rule, n in (await self.session.execute(q)).all()}

    async def worst(self, start: datetime, end: datetime, limit: int) -> list[tuple[str, dict[str, int]]]:
        """The machines with the most issues in [start, end), most first: (machine, rule -> count)."""
        c = DataQualityCountRow
        total = func.sum(c.count)
        top = (
            select(c.machine_id)
            .where(c.hour >= start, c.hour < end, c.machine_id != FLEET)
            .group_by(c.machine_id)
            .order_by(total.desc(), c.machine_id)
            .limit(limit)
        )
        ids = list((await self.session.scalars(top)).all())
        if not ids:
            return []
        q = (
            select(c.machine_id, c.rule, total)
            .where(c.hour >= start, c.hour < end, c.machine_id.in_(ids))
            .group_by(c.machine_id, c.rule)
        )
        per: dict[str, dict[str, int]] = {m: {} for m in ids}
        for machine_id, rule, n in (await self.session.execute(q)).all():
            per[machine_id][rule] = int(n)
        return [(m, per[m]) for m in ids]

    async def machines_affected(self, start: datetime, end: datetime) -> int:
        c = DataQualityCountRow
        q = select(func.count(func.distinct(c.machine_id))).where(
            c.hour >= start, c.hour < end, c.machine_id != FLEET
        )
        return int(await self.session.scalar(q) or 0)

    async def gaps(
        self, start: datetime, end: datetime, *, machine_id: str | None = None, limit: int = 1000
    ) -> tuple[list[DataGapRow], int, float]:
        """Gaps overlapping [start, end], oldest first (at most `limit`), how many there are and their
        seconds in all."""
        g = DataGapRow
        where = [g.end >= start, g.start <= end]
        if machine_id is not None:
            where.append(g.machine_id == machine_id)
        q = select(g).where(*where).order_by(g.start, g.id).limit(limit)
        rows = list((await self.session.scalars(q)).all())
        agg = (await self.session.execute(select(func.count(), func.sum(g.seconds)).where(*where))).one()
        return rows, int(agg[0] or 0), float(agg[1] or 0.0)

    async def offset(self, machine_id: str) -> ClockOffsetRow | None:
        return await self.session.get(ClockOffsetRow, machine_id)

    async def offsets_beyond(self, threshold_s: float, limit: int) -> list[ClockOffsetRow]:
        """Devices whose clock is off by more than `threshold_s`, worst first."""
        o = ClockOffsetRow
        q = (
            select(o)
            .where(func.abs(o.offset_s) > threshold_s)
            .order_by(func.abs(o.offset_s).desc(), o.machine_id)
            .limit(limit)
        )
        return list((await self.session.scalars(q)).all())
