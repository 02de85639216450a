"""Helical gearbox: input speed and output torque set the oil temperature; tooth and bearing wear raise
vibration, bearing temperature and wear particles in the oil; a clogged oil filter starves lubrication."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    Sensor,
    Setting,
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


GEARBOX = MachineType(
    name="gearbox",
    prefix="gear",
    description="Helical reduction gearbox (12.5:1) with forced lubrication",
    sensors=(
        Sensor("oil_temperature_c", "°C", 27, 76, 0.2, None),
        Sensor("bearing_temperature_c", "°C", 32, 85, 0.3, None),
        Sensor("vibration_mm_s", "mm/s", 0.5, 3.5, 0.06),
        Sensor("input_speed_rpm", "rpm", 1100, 1510, 2.0),
        Sensor("output_speed_rpm", "rpm", 88, 121, 0.2),
        Sensor("torque_nm", "N·m", 0, 2300, 10.0),
        Sensor("oil_pressure_bar", "bar", 2.0, 2.6, 0.02),
        Sensor("oil_particles_ppm", "ppm", 10, 22, 0.5),
    ),
    settings=(Setting("input_speed_setpoint_rpm", "rpm", 600, 1800, (1400, 1490), 0, "input shaft speed"),),
    physics=_physics,
    heat=_heat,
    thermal_tau_s=900.0,
)
