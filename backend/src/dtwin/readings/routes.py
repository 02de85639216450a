"""Stored readings of one machine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from dtwin.api.deps import SessionDep, TwinServiceDep
from dtwin.errors import InvalidInput, problem_responses
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.schemas import ReadingList, ReadingRead

router = APIRouter(prefix="/twins", tags=["readings"])


@router.get("/{machine_id}/readings", response_model=ReadingList, responses=problem_responses(404, 422))
async def list_readings(
    machine_id: str,
    session: SessionDep,
    twins: TwinServiceDep,
    sensor: Annotated[str | None, Query(max_length=64, description="Only this sensor")] = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from", description="ISO 8601 with zone")] = None,
    to: Annotated[AwareDatetime | None, Query(description="ISO 8601 with zone")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ReadingList:
    """The newest `limit` readings of a machine within [from, to], returned oldest first."""
    if from_ is not None and to is not None and from_ > to:
        raise InvalidInput("'from' must not be after 'to'")
    await twins.ensure_exists(machine_id)
    start: datetime | None = from_
    rows = await ReadingRepository(session).recent(
        machine_id, sensor=sensor, start=start, end=to, limit=limit
    )
    return ReadingList(machine_id=machine_id, items=[ReadingRead.model_validate(r) for r in rows])
