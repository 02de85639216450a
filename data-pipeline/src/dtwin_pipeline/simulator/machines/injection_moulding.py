"""Injection moulding machine: barrel heaters hold the melt at its setpoint (a colder melt needs more
injection pressure); a blocked nozzle (fouling) raises injection pressure and mould temperature; a hydraulic
leak lowers pressure and clamp force and heats the oil."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import F, MachineType, State, vibration


def _heat(s: State) -> F:
    # barrel heaters: full setpoint when on, kept warm in standby, cold when off
    return s.ambient + (s.sp["barrel_temperature_setpoint_c"] - s.ambient) * np.sqrt(s.run) + 4.0 * s.load


def _physics(s: State) -> dict[str, F]:
    cycle = s.sp["cycle_time_setpoint_s"]
    work = s.load * 30.0 / cycle
    viscosity = 1.0 + 0.004 * np.maximum(235.0 - s.temp, -50.0)
    oil = s.ambient + (18.0 + 12.0 * s.load + 12.0 * s.leak + 6.0 * s.wear) * s.run
    return {
        "barrel_temperature_c": s.temp,
        "mould_temperature_c": s.ambient + (18.0 + 20.0 * s.load + 15.0 * s.fouling) * s.run,
        "injection_pressure_bar": s.run
        * (900.0 + 400.0 * s.load)
        * viscosity
        * (1.0 + 0.5 * s.fouling)
        * (1.0 - 0.3 * s.leak),
        "hydraulic_oil_temperature_c": oil,
        "screw_speed_rpm": 120.0 * s.speed,
        "cycle_time_s": s.run * cycle * (1.02 + 0.05 * s.load + 0.15 * s.leak),
        "clamp_force_kn": s.run * (1500.0 + 300.0 * s.load) * (1.0 - 0.2 * s.leak),
        "pump_current_a": 20.0 * s.run + 60.0 * work * s.run + 20.0 * s.leak * s.run + 100.0 * s.seized,
        "vibration_mm_s": vibration(s, s.speed, 0.5, 1.0),
    }


INJECTION_MOULDING = MachineType.from_catalogue(
    "injection_moulding",
    prefix="mould",
    noise={
        "barrel_temperature_c": (0.5, None),
        "mould_temperature_c": (0.2, None),
        "injection_pressure_bar": 5.0,
        "hydraulic_oil_temperature_c": (0.2, None),
        "screw_speed_rpm": 0.5,
        "cycle_time_s": 0.1,
        "clamp_force_kn": 5.0,
        "pump_current_a": 0.4,
        "vibration_mm_s": 0.05,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=300.0,
)
