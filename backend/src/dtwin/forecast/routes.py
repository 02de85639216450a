"""Forecast endpoints (viewer): a machine sensor's next hour at 1-minute resolution and a meter's next
hours of consumption, each with a prediction interval. Too little history → 200 with no items and a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.contracts.limits import MACHINE_ID_PATTERN, SENSOR_PATTERN
from dtwin.core.http import MachineId
from dtwin.errors import problem_responses
from dtwin.forecast.deps import ForecastServiceDep
from dtwin.forecast.schemas import EnergyForecastRead, ForecastRead

router = APIRouter(tags=["forecast"], dependencies=[allow(Role.viewer)])


@router.get(
    "/twins/{machine_id}/forecast", response_model=ForecastRead, responses=problem_responses(404, 422)
)
async def sensor_forecast(
    machine_id: MachineId,
    service: ForecastServiceDep,
    sensor: Annotated[str, Query(pattern=SENSOR_PATTERN, description="The sensor to forecast")],
    horizon: Annotated[int, Query(ge=1, le=240, description="Minutes ahead (1-minute steps)")] = 60,
) -> ForecastRead:
    """The next `horizon` minutes of a sensor's 1-minute averages with a 90% prediction interval, fitted
    on the 12 hours of whole minutes before the machine's newest reading (exponential smoothing, an hourly
    season only where the series shows one; `method` names the model, `fitted_on` the history). A fit is
    reused until a new minute is complete. No or too little history: `items` empty and a `note`."""
    return await service.sensor(machine_id, sensor, horizon)


@router.get("/energy/forecast", response_model=EnergyForecastRead, responses=problem_responses(404, 422))
async def energy_forecast(
    service: ForecastServiceDep,
    meter: Annotated[
        str,
        Query(min_length=1, max_length=128, pattern=MACHINE_ID_PATTERN, description="The meter's machine id"),
    ],
    hours: Annotated[int, Query(ge=1, le=168, description="Hours ahead")] = 24,
) -> EnergyForecastRead:
    """A meter's consumption (kWh per hour) for the next `hours` whole hours with a 90% prediction
    interval, fitted on the hourly consumption (counter deltas, resets and rollovers handled) of the four
    weeks before its newest reading: Holt-Winters with a daily season, weekly once two weeks are known.
    No or too little history: `items` empty and a `note`."""
    return await service.meter(meter, hours)
