"""The command hook: desired settings are checked against the type, applied to the physics, reported in
every following message and acknowledged with reasons for what was refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from dtwin.contracts.commands import DeviceAck, parse_ack
from dtwin_pipeline.simulator.fleet import Fleet
from dtwin_pipeline.simulator.runner import handle_desired
from tests.unit.simulator.support import T0, one_type, ticks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def desired(version: int, machine_id: str = "pump-0001", **settings: object) -> dict[str, object]:
    return {"schema": 1, "machine_id": machine_id, "version": version, "desired": settings, "ts": "x"}


def pump_fleet(n: int = 2) -> Fleet:
    return Fleet(one_type("centrifugal_pump", n=n))


def test_valid_settings_are_accepted_and_reported_in_following_telemetry() -> None:
    fleet = pump_fleet()
    ticks(fleet, 2)
    ack = fleet.apply_desired(desired(7, mode="standby", speed_setpoint_rpm=2400), NOW)
    assert ack == {
        "schema": 1,
        "machine_id": "pump-0001",
        "version": 7,
        "status": "accepted",
        "applied": {"mode": "standby", "speed_setpoint_rpm": 2400},
        "rejected": {},
        "ts": "2026-11-23T12:00:00.000Z",
    }
    assert isinstance(parse_ack(orjson.dumps(ack)), DeviceAck)
    after = ticks(fleet, 1, t0=T0 + timedelta(seconds=2))[0]
    mine = next(m for m in after if m["machine_id"] == "pump-0001")
    other = next(m for m in after if m["machine_id"] == "pump-0002")
    assert mine["reported"] == {"mode": "standby", "speed_setpoint_rpm": 2400}
    assert other["reported"]["mode"] == "on"


def test_unknown_and_out_of_range_settings_are_rejected_with_reasons() -> None:
    fleet = pump_fleet()
    ack = fleet.apply_desired(
        desired(1, foo=1, speed_setpoint_rpm=9000, mode="turbo", pressure_setpoint_bar=5)
    )
    assert ack["status"] == "rejected" and ack["applied"] == {}
    assert ack["rejected"] == {
        "foo": "unknown setting 'foo' for centrifugal_pump",
        "speed_setpoint_rpm": "speed_setpoint_rpm=9000 out of range 1500..3000 rpm",
        "mode": "mode must be one of on, standby, off; got 'turbo'",
        "pressure_setpoint_bar": "unknown setting 'pressure_setpoint_bar' for centrifugal_pump",
    }
    assert fleet.reported("pump-0001")["mode"] == "on"


def test_a_mix_is_partially_applied() -> None:
    fleet = Fleet(one_type("boiler", n=1))
    ack = fleet.apply_desired(
        desired(3, "boiler-0001", steam_pressure_setpoint_bar=12.5, firing_rate_limit_pct=True, x="y")
    )
    assert ack["status"] == "partial"
    assert ack["applied"] == {"steam_pressure_setpoint_bar": 12.5}
    assert set(ack["rejected"]) == {"firing_rate_limit_pct", "x"}
    assert "must be a number" in ack["rejected"]["firing_rate_limit_pct"]
    assert fleet.reported("boiler-0001")["steam_pressure_setpoint_bar"] == 12.5


def test_standby_lowers_load_current_and_speed_against_a_twin() -> None:
    a, b = pump_fleet(1), pump_fleet(1)
    ticks(a, 30)
    ticks(b, 30)
    assert a.apply_desired(desired(1, mode="standby"))["status"] == "accepted"
    on = [m["readings"] for tick in ticks(b, 120, t0=T0 + timedelta(seconds=30)) for m in tick]
    sb = [m["readings"] for tick in ticks(a, 120, t0=T0 + timedelta(seconds=30)) for m in tick]
    for sensor in ("current_a", "speed_rpm", "flow_m3_h", "power_kw"):
        assert np.mean([r[sensor] for r in sb[60:]]) < 0.6 * np.mean([r[sensor] for r in on[60:]]), sensor
    assert a.groups[0].fleet.load[0] < 0.2 * b.groups[0].fleet.load[0]


def test_off_stops_the_machine_and_on_starts_it_again() -> None:
    fleet = pump_fleet(1)
    fleet.apply_desired(desired(1, mode="off"))
    stopped = ticks(fleet, 90)[-1][0]["readings"]
    assert stopped["speed_rpm"] < 30 and stopped["flow_m3_h"] < 3
    fleet.apply_desired(desired(2, mode="on"))
    running = ticks(fleet, 90, t0=T0 + timedelta(seconds=90))[-1][0]["readings"]
    assert running["speed_rpm"] > 2000


def test_setpoint_drives_the_physics() -> None:
    fleet = pump_fleet(1)
    fleet.apply_desired(desired(1, speed_setpoint_rpm=1600))
    rpm = ticks(fleet, 30)[-1][0]["readings"]["speed_rpm"]
    assert 1400 < rpm < 1620


def test_stale_version_is_rejected_and_a_redelivery_gets_the_same_ack() -> None:
    fleet = pump_fleet()
    first = fleet.apply_desired(desired(5, mode="standby"), NOW)
    assert fleet.apply_desired(desired(5, mode="off"), NOW + timedelta(seconds=9)) == first
    assert fleet.reported("pump-0001")["mode"] == "standby"
    stale = fleet.apply_desired(desired(4, mode="on"))
    assert stale["status"] == "rejected" and "stale version 4; 5 applied" in stale["rejected"]["version"]


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (b"not json", "not valid JSON"),
        (orjson.dumps({"schema": 2, "machine_id": "pump-0001", "version": 1, "desired": {}}), "schema"),
        (orjson.dumps({"schema": 1, "machine_id": "pump-0001", "version": "7", "desired": {}}), "version"),
        (orjson.dumps({"schema": 1, "machine_id": "pump-0001", "version": 1}), "desired"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(msg: bytes, reason: str) -> None:
    ack = pump_fleet().apply_desired(msg)
    assert ack["status"] == "rejected" and reason in ack["rejected"]["message"]


def test_unknown_machine_is_rejected() -> None:
    ack = pump_fleet().apply_desired(desired(1, "pump-9999", mode="off"))
    assert ack["rejected"] == {"machine_id": "unknown machine 'pump-9999'"}


def test_topic_routing_ignores_other_machines_and_checks_the_payload_id() -> None:
    fleet = pump_fleet()
    m = fleet.machine("pump-0001")
    body = orjson.dumps(desired(1, mode="standby"))
    assert handle_desired(fleet, "plant/site-1/line-1/pump-7777/desired", body) is None
    assert handle_desired(fleet, m.topic("telemetry"), body) is None
    mismatch = handle_desired(fleet, m.topic("desired"), orjson.dumps(desired(1, "pump-0002", mode="off")))
    assert (
        mismatch is not None
        and mismatch["status"] == "rejected"
        and "does not match" in mismatch["rejected"]["machine_id"]
    )
    ack = handle_desired(fleet, m.topic("desired"), body)
    assert ack is not None and ack["status"] == "accepted"


def test_embedded_desired_hook_applies_settings() -> None:
    fleet = Fleet(one_type("air_compressor", n=1))
    ack = fleet.desired("aircomp-0001", {"pressure_setpoint_bar": 9.5, "mode": "standby"}, version=2)
    assert ack["status"] == "accepted" and ack["version"] == 2
    assert fleet.reported("aircomp-0001") == {"mode": "standby", "pressure_setpoint_bar": 9.5}


def test_a_rebooted_device_applies_the_retained_desired_state_again_and_ignores_a_cleared_one() -> None:
    fleet = pump_fleet()
    m = fleet.machine("pump-0001")
    retained = orjson.dumps(desired(3, mode="standby"))
    first = handle_desired(fleet, m.topic("desired"), retained)
    assert first is not None and first["status"] == "accepted"
    rebooted = pump_fleet()  # a simulator restart: the devices are back at their defaults
    assert rebooted.reported("pump-0001")["mode"] == "on"
    again = handle_desired(rebooted, m.topic("desired"), retained)  # handed over on subscribe
    assert again is not None and (again["version"], again["status"]) == (3, "accepted")
    assert rebooted.reported("pump-0001")["mode"] == "standby"
    # an empty retained payload is the broker clearing the document (a deleted twin): no command, no ack
    assert handle_desired(rebooted, m.topic("desired"), b"") is None
    assert rebooted.reported("pump-0001")["mode"] == "standby"
