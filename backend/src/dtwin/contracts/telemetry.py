"""The telemetry wire contract: schema 1 (one machine, one instant, many sensors) and the single-reading
gateway form. Both normalise to `Telemetry`; anything else becomes a `Rejection` with a reason. Every limit
(size, counts, names, ranges, the timestamp window) comes from `contracts/limits.py` and is checked here, so
the bridge, the consumer, replay and embedded mode all apply the same rules."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dtwin.contracts.inputs import DocumentError, check_properties_document
from dtwin.contracts.limits import (
    DEFAULT_LIMITS,
    MACHINE_ID_PATTERN,
    MAX_JSON_INT,
    MIN_JSON_INT,
    PLACEMENT_PATTERN,
    PROPERTY_RE,
    RESERVED_MACHINE_IDS,
    SENSOR_PATTERN,
    Limits,
    number_problem,
)

__all__ = [
    "MACHINE_ID_PATTERN",
    "MAX_PAYLOAD_BYTES",
    "MAX_SENSORS",
    "SENSOR_PATTERN",
    "Rejection",
    "Telemetry",
    "encode_telemetry",
    "iso_utc",
    "parse_telemetry",
]

MAX_PAYLOAD_BYTES = DEFAULT_LIMITS.max_payload_bytes
MAX_SENSORS = DEFAULT_LIMITS.max_sensors_per_message


def _iso_string(value: object) -> object:
    """Timestamps are ISO 8601 strings with a zone; a bare number (epoch seconds or milliseconds?) is
    ambiguous and refused instead of being guessed."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string with a time zone, e.g. 2026-11-23T10:00:00Z")
    return value


Quality = Literal["good", "uncertain", "bad"]
MachineId = Annotated[str, Field(pattern=MACHINE_ID_PATTERN)]
Placement = Annotated[str, Field(pattern=PLACEMENT_PATTERN)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_string)]
Reading = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class TelemetryV1(BaseModel):
    """One machine at one instant: `{"schema":1,"machine_id":..,"ts":..,"readings":{..}}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal[1] = Field(alias="schema")
    machine_id: MachineId
    machine_type: Placement = "unknown"
    ts: Timestamp
    readings: Annotated[dict[str, Reading], Field(min_length=1)]
    quality: Quality = "good"
    site: Placement | None = None
    line: Placement | None = None
    reported: dict[str, Any] | None = None


class SingleReading(BaseModel):
    """The form plant gateways commonly send: one sensor value per message."""

    model_config = ConfigDict(extra="forbid")

    timestamp: Timestamp
    machineId: MachineId
    sensorType: Annotated[str, Field(min_length=1, max_length=48)]
    value: Reading
    unit: Annotated[str, Field(max_length=16)] | None = None
    quality: Annotated[str, Field(max_length=16)] = "good"
    machineType: Placement | None = None


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
    """Why a message was refused. `code` is a short, stable category (for counting by reason); `reason` says
    what exactly was wrong, for the person reading the dead letter."""

    reason: str
    machine_id: str | None = None
    code: str = "invalid"


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
    """The first few errors as `field.path: message` (names shortened: they come from the sender)."""
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p)[:80] for p in err.get("loc", ())) or "payload"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


class _Memo:
    """Values a pure check accepted, remembered (bounded: cleared when full), so that a fleet's repeated
    names, sensor sets and timestamps cost one lookup per message on the hot path."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.known: dict[Any, Any] = {}

    def keep(self, key: Any, value: Any) -> Any:
        if len(self.known) >= self.limit:
            self.known.clear()
        self.known[key] = value
        return value


class _Accepted:
    """A name syntax, checked on the whole name (`$` in a pattern also matches before a final newline, so
    `re.match` would let "pump-1\n" through; pydantic's patterns do not), with the names already found
    valid remembered (a pure check, so that is safe; bounded): the hot paths look them up."""

    def __init__(self, pattern: str, limit: int = 100_000) -> None:
        self.re = re.compile(pattern)
        self.memo = _Memo(limit)

    def all_valid(self, names: Any) -> bool:
        known = self.memo.known
        for name in names:
            if name not in known:
                if self.re.fullmatch(name) is None:
                    return False
                self.memo.keep(name, True)
        return True


_MACHINE_IDS, _PLACEMENTS, _SENSORS = (  # the patterns of contracts/limits.py
    _Accepted(MACHINE_ID_PATTERN),
    _Accepted(PLACEMENT_PATTERN),
    _Accepted(SENSOR_PATTERN),
)


# a message's sensor names (as sent, in order) and its (machine id, type, site, line) found valid; its ts
# string parsed (None: not a timestamp the fast path takes)
_SENSOR_SETS, _PLACES, _TIMESTAMPS = _Memo(10_000), _Memo(100_000), _Memo(4_096)


def _names_valid(names: tuple[str, ...]) -> bool:
    """Whether every sensor name of a message is valid: one lookup for a sensor set seen before."""
    if names in _SENSOR_SETS.known:
        return True
    if not _SENSORS.all_valid(names):
        return False
    _SENSOR_SETS.keep(names, True)
    return True


def valid_placement(value: str | None) -> bool:
    """Whether a site/line/machine type (from a topic or a header) has the accepted syntax."""
    return value is not None and _PLACEMENTS.all_valid((value,))


def valid_machine_id(value: str) -> bool:
    return _MACHINE_IDS.all_valid((value,))


def _check_readings(readings: dict[str, float], limits: Limits) -> Rejection | None:
    if len(readings) > limits.max_sensors_per_message:
        return Rejection(
            f"readings: {len(readings)} sensors > {limits.max_sensors_per_message} per message",
            code="too_many_sensors",
        )
    # the hot path: known names and one pass in C over the values; the loop below only names the culprit
    if _names_valid(tuple(readings)) and max(map(abs, readings.values())) < limits.max_abs_reading:
        return None
    for name, value in readings.items():
        if not _SENSORS.all_valid((name,)):
            return Rejection(f"readings.{name[:80]}: sensor names must match {SENSOR_PATTERN}", code="name")
        if problem := number_problem(value, limits):
            return Rejection(f"readings.{name}: {problem}", code="range")
    return None


def check_properties(props: dict[str, Any], limits: Limits, where: str) -> str | None:
    """A device's property object (`reported`, an ack's `applied`/`rejected`): at most `max_reported_keys`
    names of PROPERTY_PATTERN syntax, values nested at most `max_reported_depth` deep, integers within int64,
    finite numbers, no NUL. The first problem found, or None."""
    if len(props) > limits.max_reported_keys:
        return f"{where}: {len(props)} properties > {limits.max_reported_keys} (reported key limit)"
    if _flat_and_fine(props):
        return None
    try:
        check_properties_document(props, max_depth=limits.max_reported_depth, where=where)
    except DocumentError as exc:
        return str(exc)
    return None


def _flat_and_fine(props: dict[str, Any]) -> bool:
    """The usual `reported`: names of the right syntax and plain values that are fine (a string without NUL
    (decoded JSON holds no lone surrogate), a finite float, an int64, a bool or null). Anything else, nested
    values included, takes the thorough check."""
    for key, value in props.items():
        if PROPERTY_RE.fullmatch(key) is None:
            return False
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                return False
        elif kind is float:
            if not math.isfinite(value):
                return False
        elif kind is int:
            if not MIN_JSON_INT <= value <= MAX_JSON_INT:
                return False
        elif value is not None and kind is not bool:
            return False
    return True


def check_time(ts: datetime, now: datetime, limits: Limits) -> Rejection | None:
    """The timestamp window: at most `max_future_skew_s` ahead of our clock (a fast device clock would hold
    a property at its future value until real time caught up) and at most `max_age_s` old."""
    ahead = (ts - now).total_seconds()
    if ahead > limits.max_future_skew_s:
        return Rejection(
            f"ts {iso_utc(ts)} is {ahead:.0f} s ahead of our clock (clock skew limit "
            f"{limits.max_future_skew_s:g} s): the device clock is fast",
            code="clock_skew",
        )
    if -ahead > limits.max_age_s:
        return Rejection(
            f"ts {iso_utc(ts)} is older than the accepted age of {limits.max_age_s:g} s", code="too_old"
        )
    return None


def parse_telemetry(
    raw: bytes | str, *, limits: Limits = DEFAULT_LIMITS, now: datetime | None = None
) -> Telemetry | Rejection:
    """Decode and validate one payload in either accepted form against `limits`, with the timestamp window
    taken around `now` (default: the current time). Never raises."""
    if len(raw) > limits.max_payload_bytes:
        return Rejection(
            f"payload too large: {len(raw)} bytes > {limits.max_payload_bytes}", code="too_large"
        )
    fast = _fast_v1(raw, limits, now)
    out = fast if fast is not None else _thorough(raw, limits, now)
    if isinstance(out, Telemetry) and out.machine_id in RESERVED_MACHINE_IDS:
        mid = out.machine_id
        reason = f"machine_id {mid!r} is reserved (/api/v1/twins/{mid} is a fleet resource)"
        return Rejection(reason, mid, "reserved_id")
    return out


def _thorough(raw: bytes | str, limits: Limits, now: datetime | None) -> Telemetry | Rejection:
    """Both forms, every check, and for a bad message the reason."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection(f"not valid JSON: {exc}", code="json")
    if not isinstance(data, dict):
        return Rejection("payload must be a JSON object", code="json")
    hint = data.get("machine_id", data.get("machineId"))
    hint = hint if isinstance(hint, str) and valid_machine_id(hint) else None
    parsed = _normalise(data, hint, limits)
    if isinstance(parsed, Rejection):
        return parsed if parsed.machine_id or not hint else Rejection(parsed.reason, hint, parsed.code)
    if bad := check_time(parsed.ts, now or datetime.now(UTC), limits):
        return Rejection(bad.reason, parsed.machine_id, bad.code)
    return parsed


class _FastV1(msgspec.Struct, forbid_unknown_fields=True, rename={"schema_": "schema"}):
    """Schema 1 as msgspec decodes it (~4x cheaper than orjson + pydantic): the hot path's first try."""

    schema_: Literal[1]
    machine_id: str
    ts: str
    readings: dict[str, float]
    machine_type: str = "unknown"
    quality: Quality = "good"
    site: str | None = None
    line: str | None = None
    reported: dict[str, Any] | None = None


_FAST_DECODER = msgspec.json.Decoder(_FastV1)
# the timestamps the fast path takes: RFC 3339 with "T", at most microseconds and a zone, which
# `datetime.fromisoformat` and pydantic read alike (anything else takes the thorough path)
_PLAIN_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")


def _fast_ts(value: str) -> datetime | None:
    ts = _TIMESTAMPS.known.get(value, _TIMESTAMPS)
    if ts is not _TIMESTAMPS:
        return ts  # type: ignore[no-any-return]
    parsed = None
    if _PLAIN_TS.fullmatch(value) is not None:
        try:
            parsed = datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            parsed = None
    return _TIMESTAMPS.keep(value, parsed)  # type: ignore[no-any-return]


def _fast_v1(raw: bytes | str, limits: Limits, now: datetime | None) -> Telemetry | None:
    """A schema-1 message that passes every check, decoded the cheap way; None for anything else (another
    form, or any problem at all), which `parse_telemetry` then decodes the thorough way and, if it is bad,
    explains. So this path only ever accepts what the thorough one accepts (tests/unit/contracts checks
    that on generated messages)."""
    try:
        m = _FAST_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if not m.readings or _check_readings(m.readings, limits) is not None:
        return None
    place = (m.machine_id, m.machine_type, m.site, m.line)
    if place not in _PLACES.known:
        if not (
            valid_machine_id(m.machine_id) and _PLACEMENTS.all_valid(p for p in place[1:] if p is not None)
        ):
            return None
        _PLACES.keep(place, True)
    if m.reported is not None and check_properties(m.reported, limits, "reported"):
        return None
    ts = _fast_ts(m.ts)
    if ts is None or check_time(ts, now or datetime.now(UTC), limits):
        return None
    return Telemetry(
        machine_id=m.machine_id,
        machine_type=m.machine_type,
        ts=ts,
        readings=m.readings,
        quality=m.quality,
        site=m.site,
        line=m.line,
        reported=m.reported,
    )


def _normalise(data: dict[str, Any], hint: str | None, limits: Limits) -> Telemetry | Rejection:
    try:
        if "schema" in data:
            if data["schema"] != 1:
                return Rejection(f"unsupported schema version {repr(data['schema'])[:20]} (supported: 1)")
            msg = TelemetryV1.model_validate(data)
            if bad := _check_readings(msg.readings, limits):
                return Rejection(bad.reason, msg.machine_id, bad.code)
            if msg.reported is not None and (problem := check_properties(msg.reported, limits, "reported")):
                return Rejection(problem, msg.machine_id, "reported")
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
            if not _SENSORS.all_valid((name,)):
                return Rejection(
                    f"sensorType: cannot form a sensor name from {single.sensorType!r}", single.machineId
                )
            if problem := number_problem(single.value, limits):
                return Rejection(f"value: {problem}", single.machineId, "range")
            return Telemetry(
                machine_id=single.machineId,
                machine_type=single.machineType or "unknown",
                ts=single.timestamp.astimezone(UTC),
                readings={name: single.value},
                quality=quality,  # type: ignore[arg-type]
            )
    except ValidationError as exc:
        return Rejection(format_validation_error(exc), hint, "schema")
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


@functools.lru_cache(maxsize=4096)
def iso_utc(ts: datetime) -> str:
    """`ts` as ISO 8601 UTC with milliseconds and a `Z`. Cached: a batch's results share a few instants, and
    formatting one costs ~2 µs against ~0.1 µs for a lookup."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
