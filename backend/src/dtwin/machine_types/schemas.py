"""API schemas of the machine-type registry."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from dtwin.contracts.catalogue import machine_catalogue, physical_range_problem
from dtwin.contracts.inputs import Text
from dtwin.contracts.limits import PLACEMENT_PATTERN
from dtwin.contracts.telemetry import MAX_SENSORS, SENSOR_PATTERN

# URL-safe, like machine ids; every catalogue type matches
MACHINE_TYPE_PATTERN = PLACEMENT_PATTERN  # a machine type is named like a site or line
Bound = Annotated[float, Field(allow_inf_nan=False)]


class SensorSpec(BaseModel):
    """One sensor of a machine type: its reading name as sent in telemetry, its unit, an optional label
    for people, and the operating range [lo, hi] of a healthy, running machine. The scoring engine's limit
    detector flags readings outside it; the dashboard shades it. The optional physical range
    [phys_lo, phys_hi] is what a working sensor can report at all: a reading outside it is stored with
    quality "bad" and kept out of anomaly scoring and threshold alarms (a data-quality problem, counted
    under `physical_range`). It must contain the operating range; either end may be left out."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=SENSOR_PATTERN, examples=["temperature_c"])]
    unit: Annotated[Text, Field(max_length=32, examples=["°C"])] = ""
    label: Annotated[Text, Field(min_length=1, max_length=128)] | None = None
    lo: Annotated[Bound, Field(description="Lower end of the operating range")]
    hi: Annotated[Bound, Field(description="Upper end of the operating range; greater than lo")]
    phys_lo: Annotated[
        Bound | None,
        Field(description="Lowest value the sensor can physically report (at most lo); none: no limit"),
    ] = None
    phys_hi: Annotated[
        Bound | None,
        Field(description="Highest value the sensor can physically report (at least hi); none: no limit"),
    ] = None
    counter: Annotated[
        StrictBool,
        Field(
            description="A cumulative register (an energy meter's kWh) that only rises between resets: its "
            "consumption is analysed (energy API), the reading itself is never anomaly-scored"
        ),
    ] = False

    @model_validator(mode="after")
    def _range(self) -> SensorSpec:
        if not self.lo < self.hi:
            raise ValueError(f"sensor {self.name!r}: lo ({self.lo}) must be less than hi ({self.hi})")
        if problem := physical_range_problem(self.lo, self.hi, self.phys_lo, self.phys_hi):
            raise ValueError(f"sensor {self.name!r}: {problem}")
        return self


class MachineTypePut(BaseModel):
    """A machine type's whole definition (PUT replaces it). `name` may be repeated from the path (so a
    document read with GET can be sent back after editing its sensors), but must then equal it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=MACHINE_TYPE_PATTERN)] | None = None
    description: Annotated[Text, Field(max_length=2000)] = ""
    sensors: Annotated[list[SensorSpec], Field(max_length=MAX_SENSORS)]

    @field_validator("sensors")
    @classmethod
    def _unique(cls, sensors: list[SensorSpec]) -> list[SensorSpec]:
        dupes = sorted(name for name, n in Counter(s.name for s in sensors).items() if n > 1)
        if dupes:
            raise ValueError(f"duplicate sensor names: {', '.join(dupes)}")
        return sensors


class SettingSpec(BaseModel):
    """A setpoint the type's devices accept in their desired state (besides `mode`: on, standby, off), with
    the range [lo, hi] they accept, from the machine catalogue the simulated devices use too."""

    name: str
    unit: str
    lo: float
    hi: float
    decimals: int = Field(description="The precision devices report the setting with")
    description: str = ""


class MachineTypeRead(BaseModel):
    """A registered machine type. `version` grows with every change and is the `ETag` (send it back in
    `If-Match` to change or delete only what you read). `settings` are read-only: the machine catalogue's
    for a catalogue type ([] for others); leave them out of a PUT like `version` and the times."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    sensors: list[SensorSpec]
    settings: list[SettingSpec] = []
    version: int
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _catalogue_settings(self) -> MachineTypeRead:
        spec = machine_catalogue().get(self.name)
        if spec is not None and not self.settings:
            self.settings = [
                SettingSpec(
                    name=s.name, unit=s.unit, lo=s.lo, hi=s.hi, decimals=s.decimals, description=s.description
                )
                for s in spec.settings
            ]
        return self


class MachineTypeList(BaseModel):
    """A page of machine types by name. `count` is how many exist (all pages); pass `next_cursor` as
    `cursor` for the next page (null on the last page)."""

    items: list[MachineTypeRead]
    count: int
    next_cursor: str | None = None
