"""Commands to devices and their answers: desired state (Kafka `twin.desired` -> MQTT `.../desired`) and
device acknowledgements (MQTT `.../ack` -> Kafka `twin.acks`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from dtwin.contracts.limits import DEFAULT_LIMITS, MACHINE_ID_PATTERN
from dtwin.contracts.telemetry import MAX_PAYLOAD_BYTES, Rejection, check_properties, format_validation_error

MachineId = Annotated[str, Field(pattern=MACHINE_ID_PATTERN)]
Segment = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/+#]+$")]


class DesiredCommand(BaseModel):
    """What operators want a machine to do. On Kafka `twin.desired` (key = machine id) it carries `site` and
    `line` so the bridge can address the device's topic; the device receives it without them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal[1] = Field(default=1, alias="schema")
    machine_id: MachineId
    site: Segment
    line: Segment
    version: Annotated[int, Field(ge=0)]
    desired: dict[str, Any]
    ts: AwareDatetime
    cleared: bool = Field(
        default=False,
        description="The twin was deleted: the bridge clears the retained desired document on the device's "
        "topic (an empty retained message) instead of sending one",
    )

    def device_payload(self) -> bytes:
        """What the device receives; empty for a cleared twin (which removes the retained document)."""
        if self.cleared:
            return b""
        return orjson.dumps(self.model_dump(mode="json", by_alias=True, exclude={"site", "line", "cleared"}))


class DeviceAck(BaseModel):
    """A device's answer to a desired-state message: what it applied and what it rejected, with reasons."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal[1] = Field(default=1, alias="schema")
    machine_id: MachineId
    version: Annotated[int, Field(ge=0)]
    status: Literal["accepted", "partial", "rejected"]
    applied: dict[str, Any] = Field(default_factory=dict)
    rejected: dict[str, str] = Field(default_factory=dict)
    ts: AwareDatetime


def _parse(model: type[DesiredCommand] | type[DeviceAck], raw: bytes) -> Any:
    if len(raw) > MAX_PAYLOAD_BYTES:
        return Rejection(f"payload too large: {len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection(f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection("payload must be a JSON object")
    hint = data.get("machine_id") if isinstance(data.get("machine_id"), str) else None
    if data.get("schema", 1) != 1:
        return Rejection(f"unsupported schema version {data['schema']!r} (supported: 1)", hint)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return Rejection(format_validation_error(exc), hint)


def parse_desired(raw: bytes) -> DesiredCommand | Rejection:
    result: DesiredCommand | Rejection = _parse(DesiredCommand, raw)
    return result


def parse_ack(raw: bytes) -> DeviceAck | Rejection:
    """A device's answer, with `applied` and `rejected` held to the limits of `reported` (they are stored on
    the twin and in the change log like reported properties)."""
    result: DeviceAck | Rejection = _parse(DeviceAck, raw)
    if isinstance(result, DeviceAck):
        for where, props in (("applied", result.applied), ("rejected", result.rejected)):
            if problem := check_properties(props, DEFAULT_LIMITS, where):
                return Rejection(problem, result.machine_id, "reported")
    return result
