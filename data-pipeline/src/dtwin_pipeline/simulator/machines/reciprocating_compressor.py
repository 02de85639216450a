"""Reciprocating compressor: the unloader holds discharge pressure near its setpoint; a leak downstream
raises the duty (load) and pulls pressure down, a clogged intake filter raises discharge temperature."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _duty(s: State) -> F:
    return np.minimum(s.load + 0.35 * s.leak * s.run, 1.3)


def _heat(s: State) -> F:
    return s.ambient + 11.0 * s.run + 45.0 * _duty(s) + 20.0 * s.fouling * s.run + bearing_heat(s)


def _physics(s: State) -> dict[str, F]:
    duty = _duty(s)
    sp = s.sp["pressure_setpoint_bar"]
    return {
        "temperature_c": s.temp,
        "vibration_mm_s": vibration(s, s.speed, 2.0, 4.0, 7.0) + 1.5 * s.load,
        "pressure_bar": s.run * (sp - 1.2 * (1.0 - duty)) * (1.0 - 0.3 * s.leak),
        "current_a": 30.0 * s.run + 85.0 * duty * (0.7 + 0.03 * sp) + 150.0 * s.seized,
        "speed_rpm": 980.0 * s.speed,
        "oil_temperature_c": s.temp - 25.0 + 20.0 * s.load,
        "discharge_temperature_c": s.temp + (45.0 + 20.0 * duty + 30.0 * s.fouling) * s.run,
    }


RECIPROCATING_COMPRESSOR = MachineType.from_catalogue(
    "reciprocating_compressor",
    prefix="comp",
    noise={
        "temperature_c": (0.4, None),
        "vibration_mm_s": 0.15,
        "pressure_bar": 0.05,
        "current_a": 0.5,
        "speed_rpm": 3.0,
        "oil_temperature_c": (0.3, None),
        "discharge_temperature_c": (0.5, None),
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=900.0,
)
