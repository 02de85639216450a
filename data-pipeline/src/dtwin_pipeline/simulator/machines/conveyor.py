"""Belt conveyor: belt speed setpoint and material load set drive current; a misaligned (tracking) belt
adds friction; gear-motor bearing wear raises vibration and motor temperature."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _belt(s: State) -> F:
    return s.sp["belt_speed_setpoint_m_s"] * s.speed


def _heat(s: State) -> F:
    return s.ambient + 3.0 * s.run + 25.0 * s.load * np.minimum(s.run + s.seized, 1.0) + bearing_heat(s)


def _physics(s: State) -> dict[str, F]:
    belt = _belt(s)
    current = 6.0 * s.run + 20.0 * s.load * (0.5 + 0.5 * belt / 2.4) + 8.0 * s.misalign * s.run
    return {
        "temperature_c": s.temp,
        "vibration_mm_s": vibration(s, belt / 2.5, 0.5, 1.2),
        "belt_speed_m_s": belt,
        "current_a": current + 60.0 * s.seized,
        "load_pct": 100.0 * s.load * (1.0 - 0.3 * s.seized),
        "motor_temperature_c": s.temp + 8.0 + 0.4 * current,
    }


CONVEYOR = MachineType.from_catalogue(
    "conveyor",
    prefix="conv",
    noise={
        "temperature_c": (0.2, None),
        "vibration_mm_s": 0.05,
        "belt_speed_m_s": 0.01,
        "current_a": 0.2,
        "load_pct": 0.5,
        "motor_temperature_c": (0.3, None),
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=300.0,
    faults=frozenset({"bearing_wear", "misalignment", "seizure"}),
)
