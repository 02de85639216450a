"""Data-quality endpoints: the fleet summary and one machine's report (counts per cleansing rule, gaps,
clock offset): what the consumer's cleansing found, stored every DTWIN_DATA_QUALITY_FLUSH_S."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.core.http import From, MachineId, To, window
from dtwin.data_quality.deps import DataQualityServiceDep
from dtwin.data_quality.schemas import DataQualitySummary, MachineDataQuality
from dtwin.errors import InvalidInput, problem_responses
from dtwin.twins.deps import TwinServiceDep

router = APIRouter(tags=["data quality"], dependencies=[allow(Role.viewer)])
DAY = timedelta(days=1)
MAX_WINDOW = timedelta(days=366)


def _window(from_: datetime | None, to: datetime | None) -> tuple[datetime, datetime]:
    start, end = window(from_, to, DAY)
    if end - start > MAX_WINDOW:
        raise InvalidInput(f"the window may span at most {MAX_WINDOW.days} days")
    return start, end


@router.get("/data-quality", response_model=DataQualitySummary, responses=problem_responses(422))
async def fleet_data_quality(
    service: DataQualityServiceDep,
    from_: From = None,
    to: To = None,
    top: Annotated[int, Query(ge=1, le=100, description="How many machines (and clocks) to list")] = 10,
) -> DataQualitySummary:
    """The fleet's data quality in [from, to] (default: the last 24 h; counts are kept per hour, so `start`
    in the answer is `from` rounded down to the hour): how often each cleansing rule fired, the machines
    with the most issues, the gaps, and the devices whose clock is off by more than the threshold now.
    Data quality is about the data (a broken sensor, a silent device, a wrong clock), not the machine:
    anomalies (stuck sensors and spikes included) are under /twins/{id}/anomalies."""
    start, end = _window(from_, to)
    return await service.summary(start, end, top)


@router.get(
    "/twins/{machine_id}/data-quality",
    response_model=MachineDataQuality,
    responses=problem_responses(404, 422),
)
async def machine_data_quality(
    machine_id: MachineId,
    twins: TwinServiceDep,
    service: DataQualityServiceDep,
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many gaps, oldest first")] = 1000,
) -> MachineDataQuality:
    """One machine's data quality in [from, to] (default: the last 24 h): counts per cleansing rule (per
    hour, like the fleet summary; duplicates are counted for the fleet only), its gaps as a timeline
    (oldest first) and its device's clock-offset estimate."""
    await twins.ensure_exists(machine_id)
    start, end = _window(from_, to)
    return await service.machine(machine_id, start, end, limit)
