"""Scenario files (YAML): fleet composition by type, sites and lines, rate, duration, seed, scheduled and
random faults. Validated with pydantic; a bad file raises `ScenarioError` saying where and why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from dtwin_pipeline.simulator.faults import FaultSpec, RandomFaults
from dtwin_pipeline.simulator.fleet import SimulatorConfig, _scheduled_faults, plan_fleet
from dtwin_pipeline.simulator.machines import MACHINE_TYPES

Segment = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


class ScenarioError(ValueError):
    pass


class SiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Segment
    lines: Annotated[list[Segment], Field(min_length=1)]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    seed: int = 42
    rate_hz: Annotated[float, Field(gt=0, le=100)] = 1.0
    duration_s: Annotated[float, Field(gt=0)] | None = None
    start: AwareDatetime | None = None
    id_offset: Annotated[int, Field(ge=0)] = 0
    fleet: Annotated[dict[str, Annotated[int, Field(ge=0)]], Field(min_length=1)]
    sites: list[SiteSpec] | None = None
    faults: list[FaultSpec] = Field(default_factory=list)
    random_faults: RandomFaults | None = None

    @field_validator("fleet")
    @classmethod
    def _known_types(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = [t for t in v if t not in MACHINE_TYPES]
        if unknown:
            raise ValueError(f"unknown machine type(s) {unknown}; known: {', '.join(MACHINE_TYPES)}")
        if sum(v.values()) < 1:
            raise ValueError("the fleet needs at least one machine")
        return v

    def to_config(self) -> SimulatorConfig:
        return SimulatorConfig(
            machines=sum(self.fleet.values()),
            rate_hz=self.rate_hz,
            seed=self.seed,
            duration_s=self.duration_s,
            id_offset=self.id_offset,
            fleet=dict(self.fleet),
            site_lines=[(s.name, list(s.lines)) for s in self.sites] if self.sites else None,
            faults=list(self.faults),
            random_faults=self.random_faults,
            start=self.start,
        )


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        lines.append(f"  {loc}: {err.get('msg', 'invalid')}")
    return "\n".join(lines)


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping with at least `name` and `fleet`")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: invalid scenario:\n{_format(exc)}") from None
    cfg = scenario.to_config()
    try:
        _scheduled_faults(cfg.faults, plan_fleet(cfg), {})
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read scenario: {exc.strerror or exc}") from None
    return parse_scenario(text, str(p))
