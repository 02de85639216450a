"""Coupled physics: load drives current and power, heat lags, wear/fouling/misalignment/leak/seizure move
the sensors they should. Each coupling is checked against a healthy twin with the same seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from dtwin_pipeline.simulator.faults import FaultSpec
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig
from dtwin_pipeline.simulator.machines import MACHINE_TYPES
from tests.unit.simulator.support import elapsed, one_type, run, series, stream


def _mean(msgs: list[dict], machine: str, sensor: str, lo: float, hi: float) -> float:
    vals = [v for ts, v in series(msgs, machine, sensor).items() if lo <= elapsed(ts) < hi]
    assert vals, (machine, sensor)
    return float(np.mean(vals))


def _twins(tname: str, kind: str, start: float = 20, end: float = 1100, **params: float):
    """(machine id, healthy stream, faulted stream); thermal time constants are 5-20 min, so the runs are
    long enough for temperatures to respond."""
    machine_id = f"{MACHINE_TYPES[tname].prefix}-0001"
    spec = FaultSpec(kind=kind, machine=machine_id, start_s=start, end_s=end, params=dict(params))  # type: ignore[arg-type]
    n, dt = 240, 5.0  # 1,200 simulated seconds
    return machine_id, stream(one_type(tname, n=2), n, dt), stream(one_type(tname, n=2, faults=[spec]), n, dt)


def test_current_follows_load_across_a_pump_fleet() -> None:
    msgs = run(SimulatorConfig(machines=200, types=["centrifugal_pump"]), 2)[-1]
    current = np.array([m["readings"]["current_a"] for m in msgs])
    power = np.array([m["readings"]["power_kw"] for m in msgs])
    flow = np.array([m["readings"]["flow_m3_h"] for m in msgs])
    assert np.corrcoef(current, power)[0, 1] > 0.9
    assert np.corrcoef(current, flow)[0, 1] > 0.8


@pytest.mark.parametrize(
    ("tname", "temperature"),
    [
        ("centrifugal_pump", "bearing_temperature_c"),
        ("induction_motor", "bearing_temperature_c"),
        ("gearbox", "bearing_temperature_c"),
        ("industrial_fan", "bearing_temperature_c"),
        ("reciprocating_compressor", "temperature_c"),
    ],
)
def test_bearing_wear_raises_vibration_and_temperature(tname: str, temperature: str) -> None:
    machine_id, healthy, worn = _twins(tname, "bearing_wear", severity=0.8)
    # the end of the ramp, where wear is close to its severity
    assert (
        _mean(worn, machine_id, "vibration_mm_s", 1000, 1100)
        > _mean(healthy, machine_id, "vibration_mm_s", 1000, 1100) + 2.0
    )
    assert (
        _mean(worn, machine_id, temperature, 1000, 1100)
        > _mean(healthy, machine_id, temperature, 1000, 1100) + 3.0
    )
    # before the fault starts the twins are identical
    before_h = {ts: v for ts, v in series(healthy, machine_id, "vibration_mm_s").items() if elapsed(ts) < 20}
    before_w = {ts: v for ts, v in series(worn, machine_id, "vibration_mm_s").items() if elapsed(ts) < 20}
    assert len(before_h) == 4 and before_w == before_h


def test_gearbox_wear_sheds_particles_into_the_oil() -> None:
    machine_id, healthy, worn = _twins("gearbox", "bearing_wear", severity=0.8)
    assert _mean(worn, machine_id, "oil_particles_ppm", 1000, 1100) > 3 * _mean(
        healthy, machine_id, "oil_particles_ppm", 1000, 1100
    )


@pytest.mark.parametrize(
    ("tname", "up", "down"),
    [
        ("industrial_fan", "filter_dp_pa", "airflow_m3_h"),
        ("hydraulic_press", "filter_dp_bar", None),
        ("heat_exchanger", "pressure_drop_bar", "duty_kw"),
        ("boiler", "flue_gas_temperature_c", "efficiency_pct"),
        ("air_compressor", "inlet_filter_dp_mbar", "flow_m3_h"),
        ("centrifugal_pump", "vibration_mm_s", "suction_pressure_bar"),
        ("chiller", "condenser_pressure_bar", None),
    ],
)
def test_fouling_raises_pressure_drop_or_lowers_transfer(tname: str, up: str, down: str | None) -> None:
    machine_id, healthy, fouled = _twins(tname, "fouling", severity=0.8)
    assert _mean(fouled, machine_id, up, 1000, 1100) > _mean(healthy, machine_id, up, 1000, 1100) * 1.05
    if down is not None:
        assert (
            _mean(fouled, machine_id, down, 1000, 1100) < _mean(healthy, machine_id, down, 1000, 1100) * 0.97
        )


def test_heat_exchanger_fouling_raises_the_hot_outlet_temperature() -> None:
    machine_id, healthy, fouled = _twins("heat_exchanger", "fouling", severity=0.9)
    hot_h = _mean(healthy, machine_id, "hot_outlet_temperature_c", 1000, 1100)
    assert _mean(fouled, machine_id, "hot_outlet_temperature_c", 1000, 1100) > hot_h + 3.0


@pytest.mark.parametrize(
    ("tname", "pressure"), [("air_compressor", "flow_m3_h"), ("hydraulic_press", "pump_current_a")]
)
def test_leak_makes_the_machine_work_harder(tname: str, pressure: str) -> None:
    machine_id, healthy, leaking = _twins(tname, "leak", severity=0.6)
    assert (
        _mean(leaking, machine_id, pressure, 30, 1100) > _mean(healthy, machine_id, pressure, 30, 1100) * 1.05
    )


def test_leak_drops_pump_discharge_pressure() -> None:
    machine_id, healthy, leaking = _twins("centrifugal_pump", "leak", severity=0.5)
    assert _mean(leaking, machine_id, "pressure_bar", 30, 1100) < 0.85 * _mean(
        healthy, machine_id, "pressure_bar", 30, 1100
    )


def test_seizure_stops_the_shaft_and_draws_stall_current() -> None:
    machine_id, healthy, seized = _twins("induction_motor", "seizure")
    assert _mean(seized, machine_id, "speed_rpm", 25, 1100) < 10
    assert (
        _mean(seized, machine_id, "current_a", 25, 1100)
        > _mean(healthy, machine_id, "current_a", 25, 1100) + 60
    )
    assert (
        _mean(seized, machine_id, "temperature_c", 1000, 1100)
        > _mean(healthy, machine_id, "temperature_c", 1000, 1100) + 10
    )


def test_misalignment_raises_conveyor_current_and_vibration() -> None:
    machine_id, healthy, bad = _twins("conveyor", "misalignment", severity=0.8)
    assert (
        _mean(bad, machine_id, "current_a", 1000, 1100)
        > _mean(healthy, machine_id, "current_a", 1000, 1100) + 3
    )
    assert (
        _mean(bad, machine_id, "vibration_mm_s", 1000, 1100)
        > _mean(healthy, machine_id, "vibration_mm_s", 1000, 1100) + 1
    )


def test_temperature_lags_behind_a_load_step() -> None:
    """After a machine is switched off, power drops within seconds but temperature decays over minutes."""
    fleet = Fleet(one_type("induction_motor", n=1))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    temps, powers = [], []
    for i in range(400):
        if i == 100:
            fleet.desired("motor-0001", {"mode": "off"}, 1)
        r = fleet.tick(t0 + timedelta(seconds=i), 1.0)[0]
        readings = orjson.loads(r.payload)["readings"]
        temps.append(readings["temperature_c"])
        powers.append(readings["power_kw"])
    assert powers[160] < 0.05 * powers[99] + 0.5  # drive down after ~8 time constants of the mode lag
    before, after_1min, after_5min = np.mean(temps[90:100]), temps[160], temps[399]
    assert before > after_1min > after_5min  # cooling, still going after five minutes
    assert after_1min > before - 0.5 * (before - 22.0)  # less than half-way to ambient after a minute
