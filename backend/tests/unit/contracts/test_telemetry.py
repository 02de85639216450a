from datetime import UTC, datetime

import orjson
import pytest

from dtwin.contracts.telemetry import (
    MAX_PAYLOAD_BYTES,
    Rejection,
    Telemetry,
    encode_telemetry,
    parse_telemetry,
    sensor_name,
)

V1 = {
    "schema": 1,
    "machine_id": "pump-0001",
    "machine_type": "centrifugal_pump",
    "ts": "2026-11-23T10:00:00.000Z",
    "readings": {"temperature_c": 61.2, "vibration_mm_s": 2.1},
    "quality": "good",
}

# the messages here are stamped 2026-11-23; checked as of then (the timestamp window is relative to `now`)
NOW = datetime(2026, 11, 23, 10, 1, tzinfo=UTC)


def parse(raw: bytes) -> Telemetry | Rejection:
    return parse_telemetry(raw, now=NOW)


def dumps(d: object) -> bytes:
    return orjson.dumps(d)


def test_schema1_message_is_accepted_and_normalised() -> None:
    t = parse(dumps(V1))
    assert isinstance(t, Telemetry)
    assert t.machine_id == "pump-0001"
    assert t.ts == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert t.readings == {"temperature_c": 61.2, "vibration_mm_s": 2.1}


def test_offset_timestamp_is_converted_to_utc() -> None:
    t = parse(dumps({**V1, "ts": "2026-11-23T11:30:00+01:30"}))
    assert isinstance(t, Telemetry)
    assert t.ts == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert t.ts.utcoffset() is not None and t.ts.utcoffset().total_seconds() == 0


def test_single_reading_form_is_normalised_to_a_sensor_with_unit() -> None:
    t = parse(
        dumps(
            {
                "timestamp": "2026-11-23T10:00:00Z",
                "machineId": "motor-7",
                "sensorType": "temperature",
                "value": 55,
                "unit": "°C",
                "quality": "GOOD",
            }
        )
    )
    assert isinstance(t, Telemetry)
    assert (t.machine_id, t.readings, t.quality, t.machine_type) == (
        "motor-7",
        {"temperature_c": 55.0},
        "good",
        "unknown",
    )


@pytest.mark.parametrize(
    ("sensor_type", "unit", "expected"),
    [
        ("temperature", "°C", "temperature_c"),
        ("vibrationVelocity", "mm/s", "vibration_velocity_mm_s"),
        ("temperature_c", "C", "temperature_c"),
        ("Flow Rate", "m3/h", "flow_rate_m3_h"),
        ("load", None, "load"),
    ],
)
def test_sensor_name_normalisation(sensor_type: str, unit: str | None, expected: str) -> None:
    assert sensor_name(sensor_type, unit) == expected


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1,2]", "JSON object"),
        (dumps({**V1, "schema": 2}), "unsupported schema version 2"),
        (dumps({**V1, "ts": "2026-11-23T10:00:00"}), "ts: Input should have timezone info"),
        (dumps({**V1, "readings": {}}), "readings"),
        (dumps({**V1, "readings": {"temperature_c": "hot"}}), "readings.temperature_c"),
        (dumps({**V1, "readings": {"temperature_c": True}}), "readings.temperature_c"),
        (dumps({**V1, "readings": {"Temperature C": 1.0}}), "sensor names must match"),
        (dumps({**V1, "machine_id": "bad id!"}), "machine_id"),
        (dumps({**V1, "extra": 1}), "extra"),
        (dumps({**V1, "quality": "great"}), "quality"),
        (dumps({"hello": "world"}), "unknown message form"),
        (
            dumps(
                {
                    "timestamp": "2026-11-23T10:00:00Z",
                    "machineId": "m1",
                    "sensorType": "t",
                    "value": 1,
                    "quality": "so-so",
                }
            ),
            "quality: unknown value",
        ),
    ],
)
def test_invalid_payloads_are_rejected_with_a_reason(payload: bytes, reason_part: str) -> None:
    r = parse(payload)
    assert isinstance(r, Rejection)
    assert reason_part in r.reason


def test_rejection_keeps_the_machine_id_when_known() -> None:
    r = parse(dumps({**V1, "readings": {}}))
    assert isinstance(r, Rejection)
    assert r.machine_id == "pump-0001"


def test_oversized_payload_is_rejected_before_parsing() -> None:
    r = parse(b" " * (MAX_PAYLOAD_BYTES + 1))
    assert isinstance(r, Rejection)
    assert "too large" in r.reason


def test_encode_then_parse_round_trips() -> None:
    t = Telemetry(
        "cnc-0003",
        "cnc_mill",
        datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC),
        {"power_kw": 7.5},
        "uncertain",
        "site-1",
        "line-2",
    )
    assert parse(encode_telemetry(t)) == t


@pytest.mark.parametrize(
    "payload",
    [
        dumps({**V1, "machine_id": "aggregate"}),  # the fast path
        dumps(
            {"timestamp": "2026-11-23T10:00:00Z", "machineId": "aggregate", "sensorType": "t", "value": 1}
        ),  # thorough
    ],
)
def test_a_reserved_machine_id_is_rejected_in_every_form(payload: bytes) -> None:
    """`/api/v1/twins/aggregate` is the fleet aggregation: a machine of that id could never be read."""
    r = parse(payload)
    assert isinstance(r, Rejection)
    assert r.code == "reserved_id" and "reserved" in r.reason and r.machine_id == "aggregate"
    assert isinstance(parse(dumps({**V1, "machine_id": "aggregate-7"})), Telemetry)
