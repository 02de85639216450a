"""Helical gearbox: input speed and output torque set the oil temperature; tooth and bearing wear raise
vibration, bearing temperature and wear particles in the oil; a clogged oil filter starves lubrication."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)

RATIO = 12.5


def _frac(s: State) -> F:
    return s.sp["input_speed_setpoint_rpm"] * s.speed / 1500.0


def _heat(s: State) -> F:
    hot = np.minimum(s.run + s.seized, 1.0)
    return s.ambient + 8.0 * s.run + 40.0 * s.load * hot + 20.0 * s.fouling * hot + bearing_heat(s)


def _physics(s: State) -> dict[str, F]:
    frac = _frac(s)
    return {
        "oil_temperature_c": s.temp,
        "bearing_temperature_c": s.temp + 6.0 + 30.0 * s.wear + 10.0 * s.misalign,
        "vibration_mm_s": vibration(s, frac, 0.6, 1.5, 7.0, 4.0) + 0.5 * s.load * s.run,
        "input_speed_rpm": 1500.0 * frac,
        "output_speed_rpm": 1500.0 * frac / RATIO,
        "torque_nm": 2200.0 * s.load,
        "oil_pressure_bar": s.run * (1.6 + 0.9 * frac) * (1.0 - 0.5 * s.fouling),
        "oil_particles_ppm": 12.0 + 8.0 * s.load + 400.0 * s.wear**2,
    }


GEARBOX = MachineType.from_catalogue(
    "gearbox",
    prefix="gear",
    noise={
        "oil_temperature_c": (0.2, None),
        "bearing_temperature_c": (0.3, None),
        "vibration_mm_s": 0.06,
        "input_speed_rpm": 2.0,
        "output_speed_rpm": 0.2,
        "torque_nm": 10.0,
        "oil_pressure_bar": 0.02,
        "oil_particles_ppm": 0.5,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=900.0,
)
