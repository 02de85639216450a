"""Flow-wrap packaging machine: speed setpoint sets drive current and reject rate; the seal heater holds
its setpoint (drooping at high throughput); misaligned film raises film tension and rejects; an air leak
lowers the pneumatic supply pressure."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _rate(s: State) -> F:
    return s.sp["speed_setpoint_per_min"] * s.speed / (0.9 + 0.1 * s.load) * (0.97 + 0.03 * s.load)


def _heat(s: State) -> F:
    return (
        s.ambient + 5.0 * s.run + 18.0 * s.load * _rate(s) / 100.0 + 25.0 * s.seized + bearing_heat(s, 20.0)
    )


def _physics(s: State) -> dict[str, F]:
    rate = _rate(s)
    r = rate / 100.0
    seal_sp = s.sp["seal_temperature_setpoint_c"]
    seal = s.ambient + (seal_sp - s.ambient) * np.sqrt(s.run) - 0.05 * rate
    return {
        "throughput_per_min": rate,
        "seal_temperature_c": seal,
        "motor_current_a": 3.0 * s.run
        + 9.0 * r * (0.6 + 0.4 * s.load)
        + (3.0 * s.wear + 3.0 * s.misalign) * s.run
        + 30.0 * s.seized,
        "vibration_mm_s": vibration(s, r, 0.5, 1.5, 5.0, 2.0),
        "film_tension_n": s.run * (40.0 + 5.0 * s.load + 15.0 * s.misalign),
        "reject_rate_pct": s.run
        * (0.5 + 0.5 * r**2 + 8.0 * s.misalign + 3.0 * s.wear + 0.02 * np.abs(seal - 160.0)),
        "air_pressure_bar": 6.2 * (1.0 - 0.35 * s.leak) - 0.3 * s.load,
        "main_drive_temperature_c": s.temp,
    }


PACKAGING_MACHINE = MachineType.from_catalogue(
    "packaging_machine",
    prefix="pack",
    noise={
        "throughput_per_min": 0.5,
        "seal_temperature_c": (0.3, None),
        "motor_current_a": 0.08,
        "vibration_mm_s": 0.04,
        "film_tension_n": 0.2,
        "reject_rate_pct": 0.05,
        "air_pressure_bar": 0.02,
        "main_drive_temperature_c": (0.2, None),
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=300.0,
    faults=frozenset({"bearing_wear", "misalignment", "leak", "seizure"}),
)
