"""Every limit of contracts/limits.py, as parse_telemetry applies it for every producer (bridge, consumer,
replay, embedded mode), and the bounded dead-letter record."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from dtwin.contracts.commands import parse_ack
from dtwin.contracts.dlq import dead_letter
from dtwin.contracts.limits import DEFAULT_LIMITS, Limits
from dtwin.contracts.telemetry import Rejection, Telemetry, iso_utc, parse_telemetry

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def message(**overrides: Any) -> bytes:
    body: dict[str, Any] = {
        "schema": 1,
        "machine_id": "p1",
        "ts": iso_utc(NOW),
        "readings": {"temperature_c": 1.0},
        **overrides,
    }
    return orjson.dumps(body)


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def rejected(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> Rejection:
    r = parse_telemetry(raw, limits=limits, now=NOW)
    assert isinstance(r, Rejection), f"accepted: {r}"
    return r


@pytest.mark.parametrize(
    ("overrides", "code", "reason_part"),
    [
        # the stall triggers: reported nested ~255 deep, 2,000 reported keys
        ({"reported": {f"k{i}": 0 for i in range(2000)}}, "reported", "2000 properties > 128"),
        ({"reported": {"": 1}}, "reported", "names must match"),
        ({"reported": {"../../etc": 1}}, "reported", "must match"),
        ({"reported": {"mode": "o\x00n"}}, "reported", "NUL"),
        ({"reported": {"serial": 2**64 - 1}}, "reported", "64-bit"),
        ({"readings": {"temperature_c": 1e308}}, "range", "out of range"),
        ({"readings": {"temperature_c": -1e15}}, "range", "out of range"),
        ({"readings": {f"s{i}": 1.0 for i in range(257)}}, "too_many_sensors", "257 sensors > 256"),
        ({"ts": iso_utc(NOW + timedelta(seconds=290))}, "clock_skew", "290 s ahead"),
        ({"ts": "1970-01-01T00:00:00Z"}, "too_old", "older than"),
        ({"ts": 1764000000}, "schema", "ISO 8601"),
        ({"site": "a/b"}, "schema", "site"),
        ({"line": "l\x00"}, "schema", "line"),
        ({"machine_type": "x" * 65}, "schema", "machine_type"),
        ({"machine_id": "../../etc/passwd"}, "schema", "machine_id"),
        ({"machine_id": "p1'; DROP TABLE readings;--"}, "schema", "machine_id"),
    ],
)
def test_limits_reject_with_code_and_reason(overrides: dict[str, Any], code: str, reason_part: str) -> None:
    r = rejected(message(**overrides))
    assert r.code == code and reason_part in r.reason, r


def test_reported_nested_300_deep_is_rejected_not_a_crash() -> None:
    # orjson cannot even write this back (its limit is 254 levels): it stalled the consumer for good
    deep = b'{"a":' * 300 + b"1" + b"}" * 300
    raw = message(reported={"deep": 0}).replace(b'{"deep":0}', b'{"deep":' + deep + b"}")
    r = rejected(raw)
    assert r.code == "reported" and "nested deeper than 8" in r.reason


def test_single_reading_form_applies_the_same_limits() -> None:
    body = {"timestamp": iso_utc(NOW), "machineId": "m1", "sensorType": "t", "value": 1e16}
    assert rejected(orjson.dumps(body)).code == "range"
    late = {**body, "value": 1.0, "timestamp": iso_utc(NOW - timedelta(days=31))}
    assert rejected(orjson.dumps(late)).code == "too_old"


def test_values_within_the_limits_are_accepted() -> None:
    ok = message(
        ts=iso_utc(NOW + timedelta(seconds=9)),
        readings={"temperature_c": 9.99e14, "load": -3.0},
        reported={"mode": "on", "fw": {"v": [1, 2, {"x": None}]}, "serial": 2**63 - 1},
    )
    t = parse_telemetry(ok, now=NOW)
    assert isinstance(t, Telemetry) and t.reported is not None and t.reported["serial"] == 2**63 - 1


def test_limits_are_settings() -> None:
    tight = Limits(max_sensors_per_message=1, max_reported_depth=2, max_future_skew_s=0)
    assert rejected(message(readings={"a": 1.0, "b": 2.0}), tight).code == "too_many_sensors"
    assert rejected(message(reported={"x": nested(2)}), tight).code == "reported"
    assert rejected(message(ts=iso_utc(NOW + timedelta(seconds=1))), tight).code == "clock_skew"


def test_ack_applied_and_rejected_are_held_to_the_reported_limits() -> None:
    ack = {"schema": 1, "machine_id": "m1", "version": 1, "status": "partial", "ts": iso_utc(NOW)}
    bad_applied = parse_ack(orjson.dumps({**ack, "applied": {"mode": nested(50)}}))
    assert isinstance(bad_applied, Rejection) and "nested" in bad_applied.reason
    bad_rejected = parse_ack(orjson.dumps({**ack, "rejected": {"mode": "no\x00"}}))
    assert isinstance(bad_rejected, Rejection) and "NUL" in bad_rejected.reason


class TestDeadLetter:
    def test_a_large_payload_is_kept_truncated_with_its_size_and_hash(self) -> None:
        raw = b"\xff\x00" * 2_500_000  # 5 MB, not text
        record = orjson.loads(dead_letter(raw, "payload too large", stage="bridge", source="mqtt:x"))
        assert record["payload_bytes"] == len(raw) and record["payload_truncated"] is True
        assert record["payload_sha256"] == hashlib.sha256(raw).hexdigest()
        assert record["payload_encoding"] == "base64"
        assert base64.b64decode(record["payload"]) == raw[: DEFAULT_LIMITS.dlq_payload_bytes]
        assert len(dead_letter(raw, "r" * 100_000, stage="bridge", source="s" * 100_000)) < 16 * 1024

    def test_text_cut_inside_a_character_stays_text(self) -> None:
        raw = ("é" * 10_000).encode()
        record = orjson.loads(dead_letter(raw, "x", stage="consumer", source="t", keep_bytes=101))
        assert record["payload_encoding"] == "utf-8" and record["payload"] == "é" * 50

    def test_a_small_payload_is_kept_whole(self) -> None:
        record = orjson.loads(dead_letter(b'{"a":1}', "x", stage="consumer", source="t", code="json"))
        assert (record["payload"], record["payload_truncated"], record["code"]) == ('{"a":1}', False, "json")
