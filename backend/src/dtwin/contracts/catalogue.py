"""The machine catalogue as data (catalogue.json next to this file): every standard machine type with its
sensors' units and operating ranges and the settings its devices accept in `desired` (with their ranges).
The backend seeds its machine-type registry from it and validates desired changes against it, and the
simulator takes its types' sensors and settings from it, so the two cannot disagree; the simulator adds only
its physics."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dtwin.contracts.limits import PROPERTY_PATTERN

CATALOGUE_FILE = "catalogue.json"
Bound = Annotated[float, Field(allow_inf_nan=False)]
# the operating modes every machine accepts as its `mode` setting (not listed per type)
MODES = ("on", "standby", "off")
MODE_SETTING = "mode"


class CatalogueSensor(BaseModel):
    """One sensor: its reading name in telemetry, its unit, the range [lo, hi] of a healthy machine
    running with default settings, and the physical range [phys_lo, phys_hi] a working sensor can report
    at all (a value outside it is a broken sensor or a wrong unit, not a machine problem: stored with
    quality "bad" and never scored; docs/data-quality.md). The physical range contains the operating one.
    `counter`: a cumulative register (an energy meter's kWh) that only grows, apart from resets, rollovers
    and meter replacements; its consumption is its deltas (dtwin.energy.consumption, docs/energy.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    unit: str
    lo: Bound
    hi: Bound
    phys_lo: Bound | None = None
    phys_hi: Bound | None = None
    counter: bool = False

    @model_validator(mode="after")
    def _range(self) -> CatalogueSensor:
        if not self.lo < self.hi:
            raise ValueError(f"sensor {self.name!r}: lo ({self.lo}) must be less than hi ({self.hi})")
        if problem := physical_range_problem(self.lo, self.hi, self.phys_lo, self.phys_hi):
            raise ValueError(f"sensor {self.name!r}: {problem}")
        return self


def physical_range_problem(lo: float, hi: float, phys_lo: float | None, phys_hi: float | None) -> str | None:
    """Why a physical range does not contain the operating range [lo, hi], or None (either end may be
    absent: no limit on that side)."""
    contain = "the physical range contains the operating one"
    if phys_lo is not None and phys_lo > lo:
        return f"phys_lo ({phys_lo}) must not be above lo ({lo}): {contain}"
    if phys_hi is not None and phys_hi < hi:
        return f"phys_hi ({phys_hi}) must not be below hi ({hi}): {contain}"
    return None


class CatalogueSetting(BaseModel):
    """A numeric setpoint a machine of the type accepts in its desired state: its unit, the range
    [lo, hi] a device accepts (a value outside is rejected in the device's ack, and 422 in a dry run),
    `initial`: the range the simulator draws each machine's starting value from, and `decimals`: the
    precision the device reports it with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=PROPERTY_PATTERN)]
    unit: str
    lo: Bound
    hi: Bound
    initial: tuple[Bound, Bound]
    decimals: Annotated[int, Field(ge=0, le=6)] = 1
    description: str = ""

    @model_validator(mode="after")
    def _range(self) -> CatalogueSetting:
        if self.name == MODE_SETTING:
            raise ValueError(f"{MODE_SETTING!r} is every type's setting; it is not listed per type")
        if not self.lo < self.hi:
            raise ValueError(f"setting {self.name!r}: lo ({self.lo}) must be less than hi ({self.hi})")
        a, b = self.initial
        if not self.lo <= a <= b <= self.hi:
            raise ValueError(
                f"setting {self.name!r}: initial {list(self.initial)} must lie in lo..hi in order"
            )
        return self


class CatalogueType(BaseModel):
    """A machine type. `commands` says which sensors each desired-state setting moves (the physics'
    knowledge: a commanded change opens a settling window for those sensors in the scoring engine; a setting
    not listed, `mode` included, moves them all) and `settle_s` how long the type takes to reach its new
    steady state after one (None: the engine's default; the engine bounds it). `settings`: the setpoints its
    devices accept besides `mode` (MODES)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    sensors: tuple[CatalogueSensor, ...]
    settings: tuple[CatalogueSetting, ...] = ()
    settle_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    commands: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("sensors")
    @classmethod
    def _unique(cls, sensors: tuple[CatalogueSensor, ...]) -> tuple[CatalogueSensor, ...]:
        names = [s.name for s in sensors]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate sensor names in {names}")
        return sensors

    @field_validator("settings")
    @classmethod
    def _unique_settings(cls, settings: tuple[CatalogueSetting, ...]) -> tuple[CatalogueSetting, ...]:
        names = [s.name for s in settings]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate setting names in {names}")
        return settings

    @model_validator(mode="after")
    def _commands_name_sensors(self) -> CatalogueType:
        names = {s.name for s in self.sensors}
        settings = {s.name for s in self.settings} | {MODE_SETTING}
        for setting, sensors in self.commands.items():
            unknown = sorted(set(sensors) - names)
            if unknown:
                raise ValueError(f"{self.name}: command {setting!r} names unknown sensors {unknown}")
            if setting not in settings:
                raise ValueError(f"{self.name}: command {setting!r} is not one of its settings")
        return self

    def setting(self, name: str) -> CatalogueSetting | None:
        return next((s for s in self.settings if s.name == name), None)

    def moved_by(self, setting: str) -> tuple[str, ...]:
        """The sensors a change of `setting` moves: its `commands` entry, else every sensor."""
        return self.commands.get(setting) or tuple(s.name for s in self.sensors)

    def sensor(self, name: str) -> CatalogueSensor:
        for s in self.sensors:
            if s.name == name:
                return s
        raise KeyError(f"{self.name} has no sensor {name!r}")


class MachineCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal[1] = Field(alias="schema")
    types: tuple[CatalogueType, ...]

    @field_validator("types")
    @classmethod
    def _unique(cls, types: tuple[CatalogueType, ...]) -> tuple[CatalogueType, ...]:
        names = [t.name for t in types]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate machine types in {names}")
        return types


@cache
def machine_catalogue() -> dict[str, CatalogueType]:
    """Every catalogue type by name, in the file's order (read and validated once per process)."""
    raw = files("dtwin.contracts").joinpath(CATALOGUE_FILE).read_bytes()
    return {t.name: t for t in MachineCatalogue.model_validate_json(raw).types}


def catalogue_type(name: str) -> CatalogueType:
    """One catalogue type; KeyError naming the ones there are."""
    types = machine_catalogue()
    if name not in types:
        raise KeyError(f"machine type {name!r} is not in the catalogue ({', '.join(types)})")
    return types[name]
