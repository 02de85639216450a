"""API schemas of the what-if room: the answer of a desired-state dry run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from dtwin.twins.schemas import CommandStatus


class SettingChange(BaseModel):
    """A setting the change would move: what the device reports now and what it would be asked for."""

    reported: Any = Field(description="The device's reported value (null: never reported)")
    desired: Any = Field(description="The value the would-be desired state asks for")


class DryRunConflict(BaseModel):
    """Why the change may not do what it says: `pending_command` (an earlier command the device has not
    answered yet; the new one would supersede it, `settings` lists what it set that the change alters) or
    `not_reported` (the type knows the setting but this device never reported it: it may not support it)."""

    kind: Literal["pending_command", "not_reported"]
    detail: str
    settings: list[str] = []
    command: CommandStatus | None = None


class AlarmTrip(BaseModel):
    """An active threshold rule the predicted level would trip: `expected` when the predicted level is
    beyond its threshold, `possible` when only part of its interval is."""

    rule_id: int
    name: str
    kind: str
    threshold: float
    priority: str
    likelihood: Literal["expected", "possible"]


class SensorPrediction(BaseModel):
    """The steady level one affected sensor would settle at, `settle_s` after the change."""

    sensor: str
    unit: str = ""
    current: float | None = Field(description="The twin's latest reading")
    method: Literal["history_regression", "fleet_regression", "insufficient_history", "no_model"]
    predicted: float | None = None
    lower: float | None = Field(default=None, description="Lower end of the prediction interval (`level`)")
    upper: float | None = None
    sigma: float | None = Field(
        default=None, description="Standard error of the steady level: the fit's and the spans' scatter"
    )
    level: float = Field(default=0.95, description="Probability of the interval")
    samples: int = Field(default=0, description="Steady spans the fit learned from")
    machines: int = Field(default=0, description="Machines they came from (1: this machine's own)")
    distinct: int = Field(default=0, description="Distinct settings among those spans")
    degree: int | None = Field(default=None, description="1 linear, 2 quadratic in the settings")
    extrapolated: bool = Field(default=False, description="The asked settings lie outside the ones seen")
    reason: str | None = Field(default=None, description="Why there is no prediction")
    lo: float | None = Field(default=None, description="The sensor's operating range (machine type)")
    hi: float | None = None
    range_status: Literal["inside", "may_leave", "outside", "unknown"] = "unknown"
    p_outside: float | None = Field(default=None, description="Probability of settling outside lo..hi")
    alarms: list[AlarmTrip] = []


class HealthChange(BaseModel):
    """The health (0..100) the machine would settle at: after the settling window the anomaly detectors
    take the commanded level as normal, so only the operating-limit evidence of the predicted levels
    lowers it (`limit_evidence`: health = min(current, 100 (1 - s)), s the limit detector's score of the
    most limit-near predicted sensor); lower/upper from the ends of the sensors' intervals."""

    method: Literal["limit_evidence", "no_model"]
    current: float | None
    predicted: float | None = None
    lower: float | None = None
    upper: float | None = None
    change: float | None = Field(default=None, description="predicted - current")
    sensors: int = Field(default=0, description="Predicted sensors it rests on")
    reason: str | None = None


class PredictedEffect(BaseModel):
    settle_s: float = Field(description="How long the type takes to settle after a change")
    sensors: list[SensorPrediction]
    health: HealthChange
    leaves_range: list[str] = Field(description="Sensors predicted outside, or possibly outside, their range")
    trips_alarms: list[str] = Field(description="Sensors whose prediction would trip an active alarm rule")


class DryRun(BaseModel):
    """What `PATCH /twins/{id}/desired` with the same body would do, without doing it: the would-be desired
    document and version, the delta the device would be asked to close, the settings it moves, conflicts,
    and the predicted steady state. Nothing is stored or sent."""

    machine_id: str
    machine_type: str
    desired: dict[str, Any] = Field(description="The desired document after the patch")
    version: int = Field(description="The desired version now (send it as If-Match with the PATCH)")
    next_version: int = Field(description="The version the PATCH would make")
    delta: dict[str, Any]
    changes: dict[str, SettingChange]
    conflicts: list[DryRunConflict]
    effect: PredictedEffect
