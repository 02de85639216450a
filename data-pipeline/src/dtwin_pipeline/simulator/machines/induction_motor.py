"""Induction motor: load sets current, torque and slip; misalignment with the driven machine adds current
and heat; a locked rotor (seizure) draws several times rated current."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _load(s: State) -> F:
    return np.minimum(s.load, np.maximum(s.sp["load_limit_pct"] / 100.0, s.seized * 1.3))


def _heat(s: State) -> F:
    return s.ambient + 13.0 * s.run + 50.0 * _load(s) * np.minimum(s.run + s.seized, 1.0) + bearing_heat(s)


def _physics(s: State) -> dict[str, F]:
    ld = _load(s)
    current = 12.0 * s.run + 48.0 * ld + 10.0 * s.misalign * s.run + 120.0 * s.seized
    return {
        "temperature_c": s.temp,
        "vibration_mm_s": vibration(s, s.speed, 0.6, 1.8),
        "current_a": current,
        "speed_rpm": 1480.0 * (1.0 - 0.02 * ld) * s.speed / (0.9 + 0.1 * s.load),
        "torque_nm": 180.0 * ld,
        "voltage_v": 400.0 - 3.0 * ld,
        "power_kw": 0.59 * current * np.minimum(s.run + s.seized, 1.0),
        "bearing_temperature_c": s.temp - 5.0 + 30.0 * s.wear + 10.0 * s.misalign,
    }


INDUCTION_MOTOR = MachineType.from_catalogue(
    "induction_motor",
    prefix="motor",
    noise={
        "temperature_c": (0.3, None),
        "vibration_mm_s": 0.06,
        "current_a": 0.3,
        "speed_rpm": 1.0,
        "torque_nm": 1.5,
        "voltage_v": 0.8,
        "power_kw": 0.2,
        "bearing_temperature_c": (0.3, None),
    },
    physics=_physics,
    heat=_heat,
)
