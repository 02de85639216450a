"""The fault catalogue: kinds (physical, sensor, data quality, counter) with their parameters, the
scheduled-fault spec used in scenarios, random-injection settings and parameter resolution against a
machine type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dtwin_pipeline.simulator.machines import MACHINE_TYPES, MachineType

Category = Literal["physical", "sensor", "data_quality", "counter"]
Param = float | str


@dataclass(frozen=True)
class FaultKind:
    name: str
    category: Category
    sensor: Literal["none", "required", "optional"]
    defaults: dict[str, Param]
    doc: str
    level: str = ""  # physics level a physical fault drives
    gradual: bool = False  # ramps 0 -> severity over [start, end) instead of stepping


FAULT_KINDS: dict[str, FaultKind] = {
    k.name: k
    for k in (
        FaultKind(
            "bearing_wear",
            "physical",
            "none",
            {"severity": 0.8},
            "bearing wear grows 0 -> severity: vibration, bearing temperature, (gearbox) wear particles rise",
            "wear",
            True,
        ),
        FaultKind(
            "fouling",
            "physical",
            "none",
            {"severity": 0.8},
            "fouling / clogged filter grows: pressure drop rises, heat transfer or flow falls",
            "fouling",
            True,
        ),
        FaultKind(
            "misalignment",
            "physical",
            "none",
            {"severity": 0.7},
            "shaft/belt/film misalignment grows: "
            "vibration, current, friction heat (rejects, position error) rise",
            "misalign",
            True,
        ),
        FaultKind(
            "leak",
            "physical",
            "none",
            {"severity": 0.5},
            "sudden leak: pressure falls, duty and current rise",
            "leak",
        ),
        FaultKind(
            "seizure",
            "physical",
            "none",
            {},
            "sudden seizure: speed and flow drop to 0, stall current and heat rise",
            "seized",
        ),
        FaultKind("stuck", "sensor", "required", {}, "the sensor repeats its value from the fault start"),
        FaultKind(
            "drift",
            "sensor",
            "required",
            {},
            "the sensor drifts linearly by rate_per_h (default: half its normal span per hour)",
        ),
        FaultKind("dropout", "sensor", "required", {}, "the sensor is missing from the readings"),
        FaultKind(
            "spikes",
            "sensor",
            "required",
            {"probability": 0.05, "magnitude": 1.0},
            "each reading spikes with `probability` by ± magnitude x normal span",
        ),
        FaultKind("duplicate", "data_quality", "none", {"probability": 1.0}, "messages are sent twice"),
        FaultKind(
            "out_of_order",
            "data_quality",
            "none",
            {"probability": 0.5},
            "a message is held back and sent after the next one",
        ),
        FaultKind(
            "late",
            "data_quality",
            "none",
            {"delay_s": 30.0, "probability": 1.0},
            "messages arrive delay_s late (original timestamp)",
        ),
        FaultKind("missing", "data_quality", "none", {"probability": 1.0}, "messages are not sent"),
        FaultKind(
            "bad_unit",
            "data_quality",
            "optional",
            {},
            "a °C reading is sent in °F (unit degF) or a bar "
            "reading in psi (unit psi) under its usual name; default sensor: the first °C sensor",
        ),
        # counter faults act once, at start_s, on a meter's register (types with a counter sensor); the
        # window [start_s, end_s) is the label's
        FaultKind("counter_reset", "counter", "none", {}, "the register is reset to 0 and counts on"),
        FaultKind(
            "counter_rollover",
            "counter",
            "none",
            {"lead_kwh": 2.0},
            "the register is set lead_kwh below its rollover value (reported `rollover_kwh`) and wraps to 0 "
            "once that much energy has flowed; at start_s 0 the meter simply starts there (no jump)",
        ),
        FaultKind(
            "meter_replacement",
            "counter",
            "none",
            {"reading_kwh": 250.0},
            "the meter is replaced by one whose register starts at reading_kwh",
        ),
    )
}
COUNTER_KINDS = frozenset(k for k, v in FAULT_KINDS.items() if v.category == "counter")
FaultKindName = Literal[
    "bearing_wear", "fouling", "misalignment", "leak", "seizure", "stuck", "drift", "dropout", "spikes",
    "duplicate", "out_of_order", "late", "missing", "bad_unit", "counter_reset", "counter_rollover",
    "meter_replacement",
]  # fmt: skip
_UNIT_FOR_SUFFIX = {"_c": "degF", "_bar": "psi"}


class FaultSpec(BaseModel):
    """A scheduled fault. Target one machine by id, or the `nth` (1-based) machine of a `type`. Times are
    seconds from the start of the simulation; the fault is active for start_s <= t < end_s."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKindName
    machine: str | None = None
    type: str | None = None
    nth: Annotated[int, Field(ge=1)] = 1
    sensor: str | None = None
    start_s: Annotated[float, Field(ge=0)]
    end_s: float
    params: dict[str, Param] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        if self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s}) must be after start_s ({self.start_s})")
        if (self.machine is None) == (self.type is None):
            raise ValueError("give exactly one of `machine` (an id) or `type` (+ optional `nth`)")
        if self.type is not None and self.type not in MACHINE_TYPES:
            raise ValueError(f"unknown machine type {self.type!r}; known: {', '.join(MACHINE_TYPES)}")
        kind = FAULT_KINDS[self.kind]
        unknown = set(self.params) - set(kind.defaults) - ({"rate_per_h"} if self.kind == "drift" else set())
        unknown -= {"unit"} if self.kind == "bad_unit" else set()
        if unknown:
            allowed = sorted(set(kind.defaults) | ({"rate_per_h"} if self.kind == "drift" else set()))
            raise ValueError(
                f"unknown params {sorted(unknown)} for {self.kind}; allowed: {allowed or 'none'}"
            )
        if kind.sensor == "none" and self.sensor:
            raise ValueError(f"{self.kind} acts on the whole machine; remove `sensor`")
        if kind.sensor == "required" and not self.sensor:
            raise ValueError(f"{self.kind} needs a `sensor`")
        return self


class RandomFaults(BaseModel):
    """Faults injected at random: on average `rate_per_machine_hour` new faults per machine and hour. By
    default every kind but the counter faults (list those to inject them; they hit meters only)."""

    model_config = ConfigDict(extra="forbid")

    rate_per_machine_hour: Annotated[float, Field(ge=0)]
    kinds: list[FaultKindName] = Field(
        default_factory=lambda: [k for k in FAULT_KINDS if k not in COUNTER_KINDS]  # type: ignore[arg-type]
    )
    duration_s: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = (60.0, 600.0)


def resolve_params(kind: str, mtype: MachineType, sensor: str, params: dict[str, Param]) -> dict[str, Param]:
    """Defaults filled in and validated against the machine type; raises ValueError with a reason."""
    spec = FAULT_KINDS[kind]
    out: dict[str, Param] = {**spec.defaults, **params}
    if spec.category == "physical" and kind not in mtype.faults:
        raise ValueError(
            f"{kind} does not apply to {mtype.name} (supported: {', '.join(sorted(mtype.faults))})"
        )
    if spec.category == "counter":
        if mtype.counter is None:
            raise ValueError(f"{kind} needs a type with a counter register (energy_meter), not {mtype.name}")
        for name in ("lead_kwh", "reading_kwh"):
            if name in out and not (isinstance(out[name], int | float) and float(out[name]) >= 0):
                raise ValueError(f"{kind}: {name} must be a number >= 0, got {out[name]!r}")
    if sensor:
        s = mtype.sensor(sensor)  # KeyError with the list of sensors
        if kind == "drift" and "rate_per_h" not in out:
            out["rate_per_h"] = round(0.5 * (s.hi - s.lo), 6)
        if kind == "bad_unit":
            suffix = next((x for x in _UNIT_FOR_SUFFIX if sensor.endswith(x)), None)
            if suffix is None:
                raise ValueError(f"bad_unit needs a °C (_c) or bar (_bar) sensor, not {sensor!r}")
            out.setdefault("unit", _UNIT_FOR_SUFFIX[suffix])
    for name in ("severity", "probability"):
        if name in out and not (isinstance(out[name], int | float) and 0 < float(out[name]) <= 1):
            raise ValueError(f"{kind}: {name} must be a number in (0, 1], got {out[name]!r}")
    return out


def default_sensor(kind: str, mtype: MachineType) -> str:
    if kind == "bad_unit":
        return next((s.name for s in mtype.sensors if s.name.endswith("_c")), "") or next(
            (s.name for s in mtype.sensors if s.name.endswith("_bar")), ""
        )
    return ""
