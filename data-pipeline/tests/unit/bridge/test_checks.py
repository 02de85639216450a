from datetime import UTC, datetime, timedelta

import orjson

from dtwin.contracts.commands import DesiredCommand, parse_ack, parse_desired
from dtwin.contracts.limits import Limits
from dtwin.contracts.telemetry import Rejection
from dtwin_pipeline.bridge.service import BridgeConfig, check_ack, check_telemetry

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def telemetry(machine: str = "pump-0001", ts: datetime = NOW) -> bytes:
    return orjson.dumps(
        {"schema": 1, "machine_id": machine, "ts": ts.isoformat(), "readings": {"temperature_c": 1.0}}
    )


def test_valid_message_is_keyed_by_machine_with_site_and_line_headers() -> None:
    assert check_telemetry("plant/site-1/line-2/pump-0001/telemetry", telemetry(), NOW) == (
        "pump-0001",
        {"site": "site-1", "line": "line-2"},
    )


def test_machine_id_must_match_the_topic() -> None:
    r = check_telemetry("plant/site-1/line-2/pump-0002/telemetry", telemetry(), NOW)
    assert isinstance(r, Rejection)
    assert "does not match" in r.reason and r.machine_id == "pump-0002"


def test_unexpected_topic_and_bad_payload_are_rejected() -> None:
    assert isinstance(check_telemetry("plant/x/telemetry", telemetry(), NOW), Rejection)
    r = check_telemetry("plant/s/l/pump-0001/telemetry", b"\xff\xfe garbage", NOW)
    assert isinstance(r, Rejection) and "not valid JSON" in r.reason


def test_clock_rule_rejects_future_beyond_skew_and_too_old_but_keeps_late_data() -> None:
    topic = "plant/s/l/pump-0001/telemetry"
    limits = Limits(max_future_skew_s=300, max_age_s=86400)
    ahead = check_telemetry(topic, telemetry(ts=NOW + timedelta(seconds=301)), NOW, limits=limits)
    assert isinstance(ahead, Rejection) and "301 s ahead" in ahead.reason and ahead.code == "clock_skew"
    soon = telemetry(ts=NOW + timedelta(seconds=299))
    assert not isinstance(check_telemetry(topic, soon, NOW, limits=limits), Rejection)
    late = check_telemetry(topic, telemetry(ts=NOW - timedelta(hours=6)), NOW, limits=limits)
    assert late == ("pump-0001", {"site": "s", "line": "l"})
    old = check_telemetry(topic, telemetry(ts=NOW - timedelta(days=2)), NOW, limits=limits)
    assert isinstance(old, Rejection) and "older than" in old.reason


def test_default_skew_is_seconds_not_minutes() -> None:
    # a clock 290 s fast would hold the twin's value for 290 s: refused by default
    fast = check_telemetry("plant/s/l/pump-0001/telemetry", telemetry(ts=NOW + timedelta(seconds=290)), NOW)
    assert isinstance(fast, Rejection) and fast.code == "clock_skew"


def test_topic_site_and_line_must_be_identifiers() -> None:
    r = check_telemetry("plant/s ite;DROP/l/pump-0001/telemetry", telemetry(), NOW)
    assert isinstance(r, Rejection) and r.code == "topic" and r.machine_id == "pump-0001"


def test_payload_for_another_machine_is_an_identity_rejection() -> None:
    r = check_telemetry("plant/s/l/pump-0002/telemetry", telemetry(), NOW)
    assert isinstance(r, Rejection) and r.code == "identity" and r.machine_id == "pump-0002"
    assert "pump-0001" in r.reason


def test_ack_must_be_valid_and_match_its_topic() -> None:
    ack = orjson.dumps(
        {
            "schema": 1,
            "machine_id": "m1",
            "version": 3,
            "status": "partial",
            "applied": {"mode": "standby"},
            "rejected": {"foo": "unknown setting"},
            "ts": NOW.isoformat(),
        }
    )
    assert check_ack("plant/s/l/m1/ack", ack) == "m1"
    other = check_ack("plant/s/l/m2/ack", ack)
    assert isinstance(other, Rejection) and other.code == "identity" and other.machine_id == "m2"
    bad = check_ack("plant/s/l/m1/ack", orjson.dumps({"schema": 1, "machine_id": "m1", "status": "maybe"}))
    assert isinstance(bad, Rejection) and "status" in bad.reason and "version" in bad.reason
    parsed = parse_ack(ack)
    assert not isinstance(parsed, Rejection) and parsed.rejected == {"foo": "unknown setting"}


def test_desired_command_drops_site_and_line_for_the_device() -> None:
    cmd = DesiredCommand(machine_id="m1", site="s", line="l", version=2, desired={"mode": "off"}, ts=NOW)
    assert orjson.loads(cmd.device_payload()) == {
        "schema": 1,
        "machine_id": "m1",
        "version": 2,
        "desired": {"mode": "off"},
        "ts": "2026-11-23T10:00:00Z",
    }
    assert parse_desired(cmd.model_dump_json(by_alias=True).encode()) == cmd
    r = parse_desired(
        b'{"schema": 1, "machine_id": "m1", "site": "a/b", "line": "l", "version": 1, '
        b'"desired": {}, "ts": "2026-11-23T10:00:00Z"}'
    )
    assert isinstance(r, Rejection) and "site" in r.reason


def test_shared_subscription_filter() -> None:
    assert (
        BridgeConfig(shared_group="bridge").subscription("plant/+/+/+/telemetry")
        == "$share/bridge/plant/+/+/+/telemetry"
    )
    assert BridgeConfig(shared_group=None).subscription("a/#") == "a/#"
