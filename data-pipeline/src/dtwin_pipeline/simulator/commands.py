"""Device side of the command protocol, free of MQTT: check a desired-state message against the machine
type's settings and build the ack. `Fleet.apply_desired` applies the accepted values to the physics."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from dtwin_pipeline.simulator.machines import MODES, MachineType

AckStatus = Literal["accepted", "partial", "rejected"]


class DesiredMessage(BaseModel):
    """`{"schema":1,"machine_id":..,"version":7,"desired":{..},"ts":..}` on plant/{site}/{line}/{id}/desired.
    Extra fields (site, line from the Kafka form) are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_: Literal[1] = Field(alias="schema")
    machine_id: Annotated[str, Field(min_length=1, max_length=128)]
    version: Annotated[StrictInt, Field(ge=0)]
    desired: dict[str, Any]
    ts: str | None = None


def parse_desired_message(raw: bytes | str | dict[str, Any]) -> DesiredMessage | str:
    """The message, or the reason it cannot be applied."""
    try:
        data = raw if isinstance(raw, dict) else orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON: {exc}"
    if not isinstance(data, dict):
        return "payload must be a JSON object"
    try:
        return DesiredMessage.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ())) or "payload"
        return f"{loc}: {err.get('msg', 'invalid')}"


def check_setting(
    mtype: MachineType, name: str, value: object
) -> tuple[float | int | str | None, str | None]:
    """(value to apply, None) or (None, reason)."""
    if name == "mode":
        if isinstance(value, str) and value in MODES:
            return value, None
        return None, f"mode must be one of {', '.join(MODES)}; got {value!r}"
    setting = mtype.setting(name)
    if setting is None:
        return None, f"unknown setting {name!r} for {mtype.name}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"{name} must be a number ({setting.unit}); got {value!r}"
    if not setting.lo <= value <= setting.hi:
        return None, f"{name}={value:g} out of range {setting.lo:g}..{setting.hi:g} {setting.unit}"
    return value, None


def ack_status(applied: dict[str, Any], rejected: dict[str, str]) -> AckStatus:
    if not rejected:
        return "accepted"
    return "partial" if applied else "rejected"


def make_ack(
    machine_id: str, version: int, applied: dict[str, Any], rejected: dict[str, str], ts: str
) -> dict[str, Any]:
    return {
        "schema": 1,
        "machine_id": machine_id,
        "version": version,
        "status": ack_status(applied, rejected),
        "applied": applied,
        "rejected": rejected,
        "ts": ts,
    }
