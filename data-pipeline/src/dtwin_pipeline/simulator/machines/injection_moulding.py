"""Injection moulding machine: barrel heaters hold the melt at its setpoint (a colder melt needs more
injection pressure); a blocked nozzle (fouling) raises injection pressure and mould temperature; a hydraulic
leak lowers pressure and clamp force and heats the oil."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import F, MachineType, Sensor, Setting, State, vibration


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


INJECTION_MOULDING = MachineType(
    name="injection_moulding",
    prefix="mould",
    description="Hydraulic injection moulding machine, 180 t clamp",
    sensors=(
        Sensor("barrel_temperature_c", "°C", 210, 250, 0.5, None),
        Sensor("mould_temperature_c", "°C", 35, 65, 0.2, None),
        Sensor("injection_pressure_bar", "bar", 900, 1400, 5.0),
        Sensor("hydraulic_oil_temperature_c", "°C", 35, 60, 0.2, None),
        Sensor("screw_speed_rpm", "rpm", 100, 122, 0.5),
        Sensor("cycle_time_s", "s", 24, 38, 0.1),
        Sensor("clamp_force_kn", "kN", 1500, 1820, 5.0),
        Sensor("pump_current_a", "A", 20, 100, 0.4),
        Sensor("vibration_mm_s", "mm/s", 0.5, 2.2, 0.05),
    ),
    settings=(
        Setting("barrel_temperature_setpoint_c", "°C", 180, 300, (220, 240), 0, "melt temperature"),
        Setting("cycle_time_setpoint_s", "s", 15, 60, (25, 35), 1, "moulding cycle"),
    ),
    physics=_physics,
    heat=_heat,
    thermal_tau_s=300.0,
)
