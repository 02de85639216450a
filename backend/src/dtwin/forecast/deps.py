"""Dependencies of the forecast routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dtwin.core.deps import SessionDep, SettingsDep
from dtwin.energy.deps import EnergyServiceDep
from dtwin.forecast.service import Forecaster, ForecastService
from dtwin.lifecycle.deps import MaybeLifecycleDep
from dtwin.twins.deps import TwinServiceDep


def get_forecaster(request: Request) -> Forecaster:
    """The process's Forecaster (main.py); without one (an app built without the lifespan's services),
    one fitting in threads is made and kept."""
    forecaster: Forecaster | None = getattr(request.app.state, "forecaster", None)
    if forecaster is None:
        forecaster = request.app.state.forecaster = Forecaster(None)
    return forecaster


def get_forecast_service(
    session: SessionDep,
    settings: SettingsDep,
    twins: TwinServiceDep,
    energy: EnergyServiceDep,
    lifecycle: MaybeLifecycleDep,
    forecaster: Annotated[Forecaster, Depends(get_forecaster)],
) -> ForecastService:
    return ForecastService(session, twins, energy, lifecycle, settings.plant_tz, forecaster)


ForecastServiceDep = Annotated[ForecastService, Depends(get_forecast_service)]
