"""Business rules of the data-quality room's API: the fleet summary and one machine's report, read from
the tables the consumer's data-quality stage writes (stage.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.data_quality.cleanse import RULES
from dtwin.data_quality.models import ClockOffsetRow
from dtwin.data_quality.repository import DataQualityRepository
from dtwin.data_quality.schemas import (
    ClockOffsetRead,
    DataGapRead,
    DataQualityRules,
    DataQualitySummary,
    MachineDataQuality,
    MachineIssues,
    RuleCounts,
)


def hour_floor(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def _counts(found: dict[str, int]) -> RuleCounts:
    return RuleCounts(**{rule: found.get(rule, 0) for rule in RULES})


class DataQualityService:
    """One request's view of the data-quality tables (counts are hourly: a window is widened to the start
    of its first hour)."""

    def __init__(self, session: AsyncSession, rules: DataQualityRules) -> None:
        self.repo = DataQualityRepository(session)
        self.rules = rules

    def _offset(self, row: ClockOffsetRow) -> ClockOffsetRead:
        read = ClockOffsetRead.model_validate(row)
        read.beyond_threshold = abs(read.offset_s) > self.rules.clock_offset_threshold_s
        return read

    async def summary(self, start: datetime, end: datetime, top: int) -> DataQualitySummary:
        since = hour_floor(start)
        totals = await self.repo.totals(since, end)
        worst = await self.repo.worst(since, end, top)
        _, gaps, gap_seconds = await self.repo.gaps(start, end, limit=0)
        offsets = await self.repo.offsets_beyond(self.rules.clock_offset_threshold_s, top)
        return DataQualitySummary(
            start=since,
            end=end,
            counts=_counts(totals),
            machines_affected=await self.repo.machines_affected(since, end),
            top_machines=[
                MachineIssues(machine_id=m, total=sum(c.values()), counts=_counts(c)) for m, c in worst
            ],
            gaps=gaps,
            gap_seconds=gap_seconds,
            clock_offsets=[self._offset(o) for o in offsets],
            rules=self.rules,
        )

    async def machine(
        self, machine_id: str, start: datetime, end: datetime, limit: int
    ) -> MachineDataQuality:
        since = hour_floor(start)
        counts = _counts(await self.repo.totals(since, end, machine_id))
        counts.duplicate = None
        gaps, gap_count, gap_seconds = await self.repo.gaps(start, end, machine_id=machine_id, limit=limit)
        offset = await self.repo.offset(machine_id)
        return MachineDataQuality(
            machine_id=machine_id,
            start=since,
            end=end,
            counts=counts,
            gaps=[DataGapRead.model_validate(g) for g in gaps],
            gap_count=gap_count,
            gap_seconds=gap_seconds,
            clock_offset=self._offset(offset) if offset is not None else None,
            rules=self.rules,
        )
