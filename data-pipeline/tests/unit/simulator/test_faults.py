"""Faults: each kind changes the output the way its ground-truth record says, only inside [start, end), and
the ground-truth log lists exactly the injected events. Compared with a healthy twin of the same seed."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dtwin_pipeline.simulator.faults import (
    FAULT_KINDS,
    FaultSpec,
    GroundTruthLog,
    RandomFaults,
    read_ground_truth,
)
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig
from dtwin_pipeline.simulator.machines import MACHINE_TYPES
from tests.unit.simulator.support import elapsed, one_type, run, series, stream, ticks

PUMP = "pump-0001"
START, END, N = 10.0, 30.0, 45


def _pair(kind: str, sensor: str | None = None, **params: Any) -> tuple[list[dict], list[dict], Fleet]:
    spec = FaultSpec(kind=kind, machine=PUMP, sensor=sensor, start_s=START, end_s=END, params=params)  # type: ignore[arg-type]
    fleet = Fleet(one_type("centrifugal_pump", n=3, faults=[spec]))
    faulted = [m for tick in ticks(fleet, N) for m in tick]
    return stream(one_type("centrifugal_pump", n=3), N), faulted, fleet


def _inside(ts: str) -> bool:
    return START <= elapsed(ts) < END


def _others_identical(healthy: list[dict], faulted: list[dict]) -> None:
    assert [m for m in healthy if m["machine_id"] != PUMP] == [m for m in faulted if m["machine_id"] != PUMP]


# ----------------------------------------------------------------------------------------------- sensor faults
def test_stuck_sensor_repeats_its_value_from_the_start_only_inside_the_window() -> None:
    healthy, faulted, _ = _pair("stuck", "flow_m3_h")
    h, f = series(healthy, PUMP, "flow_m3_h"), series(faulted, PUMP, "flow_m3_h")
    frozen = h["2026-11-23T10:00:10.000Z"]
    assert all(v == frozen for ts, v in f.items() if _inside(ts))
    assert len({v for ts, v in h.items() if _inside(ts)}) > 5  # the healthy twin kept moving
    assert {ts: v for ts, v in f.items() if not _inside(ts)} == {
        ts: v for ts, v in h.items() if not _inside(ts)
    }
    assert series(healthy, PUMP, "current_a") == series(faulted, PUMP, "current_a")
    _others_identical(healthy, faulted)


def test_drift_adds_rate_times_elapsed_inside_the_window() -> None:
    healthy, faulted, fleet = _pair("drift", "pressure_bar", rate_per_h=360.0)
    h, f = series(healthy, PUMP, "pressure_bar"), series(faulted, PUMP, "pressure_bar")
    for ts, v in f.items():
        expected = h[ts] + (0.1 * (elapsed(ts) - START) if _inside(ts) else 0.0)
        assert v == pytest.approx(expected, abs=0.0015), ts
    assert fleet.faults.events[0]["params"] == {"rate_per_h": 360.0}


def test_drift_defaults_to_half_the_normal_span_per_hour() -> None:
    _, _, fleet = _pair("drift", "temperature_c")
    assert fleet.faults.events[0]["params"] == {"rate_per_h": 22.5}  # (80 - 35) / 2


def test_dropout_removes_the_sensor_only_inside_the_window() -> None:
    healthy, faulted, _ = _pair("dropout", "vibration_mm_s")
    mine = [m for m in faulted if m["machine_id"] == PUMP]
    assert len(mine) == N
    for m in mine:
        assert ("vibration_mm_s" in m["readings"]) == (not _inside(m["ts"]))
    assert series(healthy, PUMP, "current_a") == series(faulted, PUMP, "current_a")


def test_spikes_jump_by_the_normal_span_only_inside_the_window() -> None:
    healthy, faulted, _ = _pair("spikes", "current_a", probability=0.5, magnitude=1.0)
    h, f = series(healthy, PUMP, "current_a"), series(faulted, PUMP, "current_a")
    span = 65 - 15
    jumps = [round(f[ts] - h[ts], 2) for ts in f if _inside(ts)]
    assert set(jumps) <= {0.0, float(span), float(-span)}
    assert 3 <= sum(1 for j in jumps if j) <= 17
    assert all(f[ts] == h[ts] for ts in f if not _inside(ts))


def test_bad_unit_sends_celsius_as_fahrenheit_inside_the_window() -> None:
    healthy, faulted, fleet = _pair("bad_unit", "temperature_c")
    h, f = series(healthy, PUMP, "temperature_c"), series(faulted, PUMP, "temperature_c")
    for ts, v in f.items():
        assert v == pytest.approx(h[ts] * 1.8 + 32 if _inside(ts) else h[ts], abs=0.003)
    assert fleet.faults.events[0]["params"] == {"unit": "degF"}


def test_bad_unit_picks_the_first_celsius_sensor_by_default() -> None:
    spec = FaultSpec(kind="bad_unit", machine=PUMP, start_s=0, end_s=5)
    fleet = Fleet(one_type("centrifugal_pump", n=1, faults=[spec]))
    ticks(fleet, 2)
    assert fleet.faults.events[0]["sensor"] == "temperature_c"


def test_bad_unit_sends_bar_as_psi() -> None:
    healthy, faulted, _ = _pair("bad_unit", "pressure_bar")
    h, f = series(healthy, PUMP, "pressure_bar"), series(faulted, PUMP, "pressure_bar")
    ts = "2026-11-23T10:00:20.000Z"
    assert f[ts] == pytest.approx(h[ts] * 14.5038, abs=0.01)


# ------------------------------------------------------------------------------------------ data-quality faults
def test_duplicate_sends_each_message_twice_inside_the_window() -> None:
    healthy, faulted, _ = _pair("duplicate")
    counts = Counter(m["ts"] for m in faulted if m["machine_id"] == PUMP)
    assert all(c == (2 if _inside(ts) else 1) for ts, c in counts.items())
    assert len(counts) == N
    assert {m["ts"]: m for m in faulted if m["machine_id"] == PUMP} == {
        m["ts"]: m for m in healthy if m["machine_id"] == PUMP
    }


def test_missing_drops_messages_inside_the_window() -> None:
    _, faulted, _ = _pair("missing")
    sent = [elapsed(m["ts"]) for m in faulted if m["machine_id"] == PUMP]
    assert sent == [float(t) for t in range(N) if not START <= t < END]


def test_out_of_order_delivers_everything_with_inversions_only_inside_the_window() -> None:
    healthy, faulted, _ = _pair("out_of_order", probability=0.5)
    order = [m["ts"] for m in faulted if m["machine_id"] == PUMP]
    assert sorted(order) == [m["ts"] for m in healthy if m["machine_id"] == PUMP]  # nothing lost, none twice
    inverted = [b for a, b in itertools.pairwise(order) if b < a]
    assert inverted and all(_inside(ts) for ts in inverted)


def test_late_messages_arrive_delay_s_after_their_timestamp() -> None:
    spec = FaultSpec(kind="late", machine=PUMP, start_s=START, end_s=END, params={"delay_s": 5.0})
    per_tick = run(one_type("centrifugal_pump", n=3, faults=[spec]), N)
    arrivals = {(m["ts"], k) for k, tick in enumerate(per_tick) for m in tick if m["machine_id"] == PUMP}
    assert len(arrivals) == N
    for ts, k in arrivals:
        assert k - elapsed(ts) == (5.0 if _inside(ts) else 0.0), ts


# ---------------------------------------------------------------------------------------------- physical faults
@pytest.mark.parametrize(
    ("kind", "sensor"),
    [
        ("bearing_wear", "vibration_mm_s"),
        ("misalignment", "vibration_mm_s"),
        ("fouling", "suction_pressure_bar"),
        ("leak", "pressure_bar"),
        ("seizure", "speed_rpm"),
    ],
)
def test_physical_fault_changes_its_sensor_only_inside_the_window(kind: str, sensor: str) -> None:
    healthy, faulted, _ = _pair(kind)
    h, f = series(healthy, PUMP, sensor), series(faulted, PUMP, sensor)
    assert all(f[ts] == h[ts] for ts in f if not _inside(ts)), kind
    late_in_window = [ts for ts in f if START + 10 <= elapsed(ts) < END]
    assert all(abs(f[ts] - h[ts]) > 0.05 for ts in late_in_window), kind
    _others_identical(healthy, faulted)


def test_physical_fault_on_an_unsupported_type_is_refused() -> None:
    spec = FaultSpec(kind="leak", machine="conv-0001", start_s=0, end_s=10)
    with pytest.raises(ValueError, match="leak does not apply to conveyor"):
        Fleet(one_type("conveyor", n=1, faults=[spec]))


# -------------------------------------------------------------------------------------------------- ground truth
def test_ground_truth_lists_each_scheduled_fault_with_absolute_times(tmp_path: Path) -> None:
    specs = [
        FaultSpec(kind="stuck", machine="pump-0001", sensor="flow_m3_h", start_s=2, end_s=6),
        FaultSpec(kind="bearing_wear", type="gearbox", nth=2, start_s=1, end_s=100, params={"severity": 0.5}),
        FaultSpec(kind="missing", machine="conv-0005", start_s=50, end_s=60),  # never reached
    ]
    log = GroundTruthLog(tmp_path / "gt.jsonl")
    fleet = Fleet(SimulatorConfig(machines=30, faults=specs), on_fault_event=log.write)
    ticks(fleet, 10)
    log.close()
    events = read_ground_truth(tmp_path / "gt.jsonl")
    assert events == fleet.faults.events
    assert [(e["machine_id"], e["sensor"], e["kind"], e["start"], e["end"]) for e in events] == [
        ("gear-0022", "", "bearing_wear", "2026-11-23T10:00:01.000Z", "2026-11-23T10:01:40.000Z"),
        ("pump-0001", "flow_m3_h", "stuck", "2026-11-23T10:00:02.000Z", "2026-11-23T10:00:06.000Z"),
    ]
    assert events[0]["params"] == {"severity": 0.5} and events[0]["category"] == "physical"
    assert events[1]["source"] == "scheduled" and events[1]["category"] == "sensor"


def test_random_faults_follow_the_rate_and_the_seed() -> None:
    cfg = SimulatorConfig(
        machines=20, random_faults=RandomFaults(rate_per_machine_hour=30, duration_s=(5, 20))
    )
    fleet = Fleet(cfg)
    ticks(fleet, 300, dt=2.0)
    events = fleet.faults.events
    assert 50 <= len(events) <= 170  # expected 100 = 30/h x 20 machines x 1/6 h (minus kinds a type lacks)
    assert len({e["kind"] for e in events}) >= 8
    for e in events:
        mtype = MACHINE_TYPES[str(e["machine_type"])]
        if FAULT_KINDS[str(e["kind"])].category == "physical":
            assert e["kind"] in mtype.faults
        if e["sensor"]:
            assert e["sensor"] in mtype.sensor_names
        assert 5 <= float(e["end_s"]) - float(e["start_s"]) <= 20  # type: ignore[arg-type]
    again = Fleet(cfg)
    ticks(again, 300, dt=2.0)
    assert again.faults.events == events


def test_random_dropouts_hide_exactly_the_logged_sensors() -> None:
    cfg = SimulatorConfig(
        machines=10,
        seed=5,
        random_faults=RandomFaults(rate_per_machine_hour=60, kinds=["dropout"], duration_s=(3, 8)),
    )
    fleet = Fleet(cfg)
    msgs = [m for tick in ticks(fleet, 300) for m in tick]
    events = fleet.faults.events
    assert len(events) >= 10
    for m in msgs:
        t = elapsed(m["ts"])
        expected_missing = {
            e["sensor"]
            for e in events
            if e["machine_id"] == m["machine_id"] and float(e["start_s"]) <= t < float(e["end_s"])  # type: ignore[arg-type]
        }
        all_sensors = set(MACHINE_TYPES[m["machine_type"]].sensor_names)
        assert all_sensors - set(m["readings"]) == expected_missing


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "stuck", "machine": "pump-0001", "start_s": 0, "end_s": 5}, "needs a `sensor`"),
        (
            {"kind": "leak", "machine": "pump-0001", "sensor": "flow_m3_h", "start_s": 0, "end_s": 5},
            "remove `sensor`",
        ),
        ({"kind": "leak", "machine": "pump-0001", "start_s": 5, "end_s": 5}, "must be after start_s"),
        ({"kind": "leak", "start_s": 0, "end_s": 5}, "exactly one of"),
        (
            {"kind": "leak", "machine": "x", "start_s": 0, "end_s": 5, "params": {"speed": 1}},
            "unknown params",
        ),
        ({"kind": "melt", "machine": "x", "start_s": 0, "end_s": 5}, "Input should be"),
    ],
)
def test_fault_spec_rejects_bad_input_with_a_reason(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FaultSpec.model_validate(spec)


def test_fault_on_an_unknown_sensor_lists_the_sensors() -> None:
    spec = FaultSpec(kind="stuck", machine=PUMP, sensor="rpm", start_s=0, end_s=5)
    with pytest.raises(ValueError, match="has no sensor 'rpm'; sensors: temperature_c"):
        Fleet(one_type("centrifugal_pump", n=1, faults=[spec]))
