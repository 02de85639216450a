"""API models of the forecast room."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ForecastPoint(BaseModel):
    """One step ahead: the bucket's start, the point forecast and its interval."""

    ts: datetime
    mean: float
    lo: float
    hi: float


class FittedOn(BaseModel):
    """The history the model was fitted on: its first and last bucket (start times) and how many."""

    start: datetime | None
    end: datetime | None
    points: int


class ForecastRead(BaseModel):
    """A machine sensor's forecast at 1-minute resolution (bucket averages)."""

    machine_id: str
    sensor: str
    method: str = Field(description="e.g. `ets(damped trend)`, `seasonal_naive(season=60)`, `none`")
    resolution: Literal["1m"] = "1m"
    fitted_on: FittedOn
    items: list[ForecastPoint]
    interval: float = Field(description="Nominal coverage of [lo, hi]")
    note: str | None = None


class EnergyForecastRead(BaseModel):
    """A meter's hourly consumption forecast (kWh per hour; never negative)."""

    meter: str
    unit: Literal["kWh"] = "kWh"
    method: str
    resolution: Literal["1h"] = "1h"
    fitted_on: FittedOn
    items: list[ForecastPoint]
    interval: float
    note: str | None = None
