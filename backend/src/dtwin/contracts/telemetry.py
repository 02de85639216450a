"""The telemetry wire contract: schema 1 (one machine, one instant, many sensors) and the single-reading
gateway form. Both normalise to `Telemetry`; anything else becomes a `Rejection` with a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_SENSORS = 256
MACHINE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
SENSOR_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
_SENSOR_RE = re.compile(SENSOR_PATTERN)

Quality = Literal["good", "uncertain", "bad"]
MachineId = Annotated[str, Field(pattern=MACHINE_ID_PATTERN)]
Reading = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class TelemetryV1(BaseModel):
    """One machine at one instant: `{"schema":1,"machine_id":..,"ts":..,"readings":{..}}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal[1] = Field(alias="schema")
    machine_id: MachineId
    machine_type: Annotated[str, Field(min_length=1, max_length=64)] = "unknown"
    ts: AwareDatetime
    readings: Annotated[dict[str, Reading], Field(min_length=1, max_length=MAX_SENSORS)]
    quality: Quality = "good"
    site: Annotated[str, Field(max_length=64)] | None = None
    line: Annotated[str, Field(max_length=64)] | None = None
    reported: dict[str, Any] | None = None


class SingleReading(BaseModel):
    """The form plant gateways commonly send: one sensor value per message."""

    model_config = ConfigDict(extra="forbid")

    timestamp: AwareDatetime
    machineId: MachineId
    sensorType: Annotated[str, Field(min_length=1, max_length=48)]
    value: Reading
    unit: Annotated[str, Field(max_length=16)] | None = None
    quality: str = "good"
    machineType: Annotated[str, Field(min_length=1, max_length=64)] | None = None


@dataclass(slots=True)
class Telemetry:
    """Normalised telemetry: what the rest of the platform works with. `ts` is UTC."""

    machine_id: str
    machine_type: str
    ts: datetime
    readings: dict[str, float]
    quality: Quality = "good"
    site: str | None = None
    line: str | None = None
    reported: dict[str, Any] | None = field(default=None)


@dataclass(slots=True, frozen=True)
class Rejection:
    reason: str
    machine_id: str | None = None


# unit spellings -> the suffix used in sensor names (temperature + °C -> temperature_c)
_UNIT_SUFFIX = {
    "°c": "c",
    "c": "c",
    "degc": "c",
    "celsius": "c",
    "°f": "f",
    "f": "f",
    "k": "k",
    "mm/s": "mm_s",
    "mm_s": "mm_s",
    "g": "g",
    "bar": "bar",
    "kpa": "kpa",
    "pa": "pa",
    "psi": "psi",
    "a": "a",
    "v": "v",
    "kw": "kw",
    "w": "w",
    "rpm": "rpm",
    "hz": "hz",
    "%": "pct",
    "pct": "pct",
    "m3/h": "m3_h",
    "m³/h": "m3_h",
    "l/min": "l_min",
    "nm": "nm",
    "kn": "kn",
    "mm": "mm",
    "um": "um",
}
_QUALITY = {
    "good": "good",
    "uncertain": "uncertain",
    "bad": "bad",
    "192": "good",
    "64": "uncertain",
    "0": "bad",
}


def sensor_name(sensor_type: str, unit: str | None) -> str:
    """Normalise a gateway's sensorType + unit to our sensor naming (`temperature_c`)."""
    base = re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", sensor_type).lower()).strip("_")
    if unit:
        u = unit.strip().lower()
        suffix = _UNIT_SUFFIX.get(u) or re.sub(r"[^a-z0-9]+", "_", u).strip("_")
        if suffix and not base.endswith("_" + suffix):
            base = f"{base}_{suffix}"
    return base


def format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "payload"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _check_sensor_names(readings: dict[str, float]) -> str | None:
    for name in readings:
        if not _SENSOR_RE.match(name):
            return f"readings.{name}: sensor names must match {SENSOR_PATTERN}"
    return None


def parse_telemetry(raw: bytes | str) -> Telemetry | Rejection:
    """Decode and validate one payload in either accepted form. Never raises."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        return Rejection(f"payload too large: {len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection(f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection("payload must be a JSON object")
    machine_hint = data.get("machine_id", data.get("machineId"))
    machine_hint = machine_hint if isinstance(machine_hint, str) and len(machine_hint) <= 128 else None
    try:
        if "schema" in data:
            if data["schema"] != 1:
                return Rejection(
                    f"unsupported schema version {data['schema']!r} (supported: 1)", machine_hint
                )
            msg = TelemetryV1.model_validate(data)
            if bad := _check_sensor_names(msg.readings):
                return Rejection(bad, msg.machine_id)
            return Telemetry(
                machine_id=msg.machine_id,
                machine_type=msg.machine_type,
                ts=msg.ts.astimezone(UTC),
                readings=msg.readings,
                quality=msg.quality,
                site=msg.site,
                line=msg.line,
                reported=msg.reported,
            )
        if "machineId" in data:
            single = SingleReading.model_validate(data)
            quality = _QUALITY.get(single.quality.strip().lower())
            if quality is None:
                return Rejection(f"quality: unknown value {single.quality!r}", single.machineId)
            name = sensor_name(single.sensorType, single.unit)
            if not _SENSOR_RE.match(name):
                return Rejection(
                    f"sensorType: cannot form a sensor name from {single.sensorType!r}", single.machineId
                )
            return Telemetry(
                machine_id=single.machineId,
                machine_type=single.machineType or "unknown",
                ts=single.timestamp.astimezone(UTC),
                readings={name: single.value},
                quality=quality,  # type: ignore[arg-type]
            )
    except ValidationError as exc:
        return Rejection(format_validation_error(exc), machine_hint)
    return Rejection("unknown message form: expected a 'schema' field (schema 1) or the single-reading form")


def encode_telemetry(t: Telemetry) -> bytes:
    """Serialise normalised telemetry as a schema 1 payload (the simulator and tests use this)."""
    body: dict[str, Any] = {
        "schema": 1,
        "machine_id": t.machine_id,
        "machine_type": t.machine_type,
        "ts": iso_utc(t.ts),
        "readings": t.readings,
        "quality": t.quality,
    }
    if t.site is not None:
        body["site"] = t.site
    if t.line is not None:
        body["line"] = t.line
    if t.reported is not None:
        body["reported"] = t.reported
    return orjson.dumps(body)


def iso_utc(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
