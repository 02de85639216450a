"""Energy meters: the register is the integral of power, the load follows the site's shift pattern
(weekdays high, nights and weekends at base load), the phases add up to the power, and counter faults
(reset, rollover, meter replacement) happen where the ground truth says."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from dtwin_pipeline.simulator.faults import FaultSpec
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig
from tests.unit.simulator.support import ticks

MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 01:00 in Berlin


def _meters(n: int = 6, faults: list[FaultSpec] | None = None) -> Fleet:
    return Fleet(SimulatorConfig(machines=n, types=["energy_meter"], seed=11, faults=faults or []))


def _column(msgs: list[list[dict[str, object]]], machine: int, sensor: str) -> np.ndarray:
    out = []
    for tick in msgs:
        m = tick[machine]
        readings = m["readings"]
        assert isinstance(readings, dict)
        out.append(readings[sensor])
    return np.array(out, dtype=float)


def test_the_register_is_the_integral_of_power() -> None:
    msgs = ticks(_meters(), 2 * 24 * 60, dt=60.0, t0=MONDAY)
    for j in range(6):
        energy, power = _column(msgs, j, "energy_kwh"), _column(msgs, j, "power_kw")
        counted = energy[-1] - energy[0]
        integrated = float(np.sum(power[1:]) * 60.0 / 3600.0)  # each step's power over the step ending there
        assert counted == pytest.approx(integrated, rel=2e-3)
        assert (np.diff(energy) >= 0).all()


def test_phases_carry_the_power() -> None:
    msgs = ticks(_meters(), 120, dt=60.0, t0=MONDAY)
    for j in range(6):
        p = _column(msgs, j, "power_kw")
        pf = _column(msgs, j, "power_factor")
        phases = sum(
            _column(msgs, j, f"voltage_l{k}_v") * _column(msgs, j, f"current_l{k}_a") for k in (1, 2, 3)
        )
        assert np.median(np.abs(phases * pf / 1000.0 / p - 1.0)) < 0.01


def test_weekdays_run_shifts_and_weekends_base_load() -> None:
    msgs = ticks(_meters(12), 7 * 24 * 4, dt=900.0, t0=MONDAY)
    noons, nights = [], []
    for j in range(12):
        p = _column(msgs, j, "power_kw").reshape(7, 96)
        weekday_noon, sunday_noon = p[:5, 44:52].mean(), p[6, 44:52].mean()  # 12:00-14:00 Berlin
        assert sunday_noon < 0.6 * weekday_noon, j
        noons.append(weekday_noon)
        nights.append(p[:5, 8:12].mean())  # 03:00-04:00 Berlin
    assert np.mean(nights) < 0.8 * np.mean(noons)  # only three-shift sites run through the night


def test_sites_differ_in_scale_or_pattern() -> None:
    msgs = ticks(_meters(12), 24 * 4, dt=900.0, t0=MONDAY)
    by_site: dict[str, list[float]] = {}
    for j in range(12):
        site = str(msgs[0][j]["site"])
        by_site.setdefault(site, []).append(float(_column(msgs, j, "power_kw").mean()))
    assert len(by_site) == 2


def test_counter_faults_are_labelled_and_shape_the_register() -> None:
    faults = [
        FaultSpec(kind="counter_rollover", type="energy_meter", nth=1, start_s=0, end_s=7200,
                  params={"lead_kwh": 1.0}),
        FaultSpec(kind="counter_reset", type="energy_meter", nth=2, start_s=600, end_s=660),
        FaultSpec(kind="meter_replacement", type="energy_meter", nth=3, start_s=1200, end_s=1260,
                  params={"reading_kwh": 42.0}),
    ]  # fmt: skip
    events: list[dict[str, object]] = []
    fleet = Fleet(
        SimulatorConfig(machines=3, types=["energy_meter"], seed=11, faults=faults),
        on_fault_event=events.append,
    )
    msgs = ticks(fleet, 3600, dt=1.0, t0=MONDAY)
    assert [(e["kind"], e["category"], e["machine_id"]) for e in events] == [
        ("counter_rollover", "counter", "meter-0001"),
        ("counter_reset", "counter", "meter-0002"),
        ("meter_replacement", "counter", "meter-0003"),
    ]
    rolled = _column(msgs, 0, "energy_kwh")
    assert rolled[0] > 999_998.0 and rolled[-1] < 100.0  # wrapped at rollover_kwh once
    assert msgs[0][0]["reported"] == {"mode": "on", "rollover_kwh": 999_999.9}
    reset = _column(msgs, 1, "energy_kwh")
    assert reset[599] > 1_000.0 and 0.0 < reset[600] < 0.2
    replaced = _column(msgs, 2, "energy_kwh")
    assert replaced[1199] > 1_000.0 and 42.0 < replaced[1200] < 42.2


def test_counter_faults_only_fit_meters() -> None:
    spec = FaultSpec(kind="counter_reset", type="centrifugal_pump", start_s=0, end_s=10)
    with pytest.raises(ValueError, match="counter register"):
        Fleet(SimulatorConfig(machines=2, types=["centrifugal_pump"], faults=[spec]))
