"""Hydraulic press: the pressure setpoint and stroke rate set pump current and oil heat; an internal leak
loses pressure and makes the pump work harder (hotter oil); a clogged return filter raises its pressure
drop."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _heat(s: State) -> F:
    hot = np.minimum(s.run + s.seized, 1.0)
    work = s.load * s.sp["pressure_setpoint_bar"] / 200.0
    return (
        s.ambient
        + 10.0 * s.run
        + 30.0 * work * hot
        + (15.0 * s.leak + 10.0 * s.fouling) * hot
        + bearing_heat(s, 15.0)
    )


def _physics(s: State) -> dict[str, F]:
    sp = s.sp["pressure_setpoint_bar"]
    strokes = s.sp["stroke_rate_setpoint_per_min"]
    pressure = s.run * sp * (0.6 + 0.4 * np.minimum(s.load, 1.0)) * (1.0 - 0.4 * s.leak)
    current = (
        15.0 * s.run
        + 55.0 * s.load * (sp / 200.0) * np.sqrt(strokes / 15.0) * s.run
        + (25.0 * s.leak + 12.0 * s.fouling) * s.run
        + 80.0 * s.seized
    )
    return {
        "hydraulic_pressure_bar": pressure,
        "oil_temperature_c": s.temp,
        "pump_current_a": current,
        "ram_force_kn": 5.0 * pressure,
        "ram_speed_mm_s": 80.0 * s.speed * (1.0 - 0.3 * s.leak),
        "stroke_rate_per_min": strokes * s.speed / (0.9 + 0.1 * s.load),
        "vibration_mm_s": vibration(s, s.speed, 0.8, 1.5) + 0.8 * s.load * s.run,
        "filter_dp_bar": s.run * (0.4 + 0.3 * s.load) * (1.0 + 4.0 * s.fouling),
    }


HYDRAULIC_PRESS = MachineType.from_catalogue(
    "hydraulic_press",
    prefix="press",
    noise={
        "hydraulic_pressure_bar": 1.0,
        "oil_temperature_c": (0.2, None),
        "pump_current_a": 0.4,
        "ram_force_kn": 5.0,
        "ram_speed_mm_s": 0.5,
        "stroke_rate_per_min": 0.1,
        "vibration_mm_s": 0.06,
        "filter_dp_bar": 0.01,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=900.0,
)
