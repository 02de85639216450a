"""Water chiller (R134a): cooling load and condenser temperature set compressor power through the COP;
condenser fouling raises condensing temperature/pressure and power; a refrigerant leak lowers evaporator
pressure and lets the chilled-water supply drift above its setpoint."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)

WATER_KW_PER_K = 163.0  # 140 m3/h of chilled water


def _heat(s: State) -> F:
    return (
        s.ambient
        + (12.0 + 6.0 * s.load + 8.0 * s.fouling) * np.minimum(s.run + s.seized, 1.0)
        + bearing_heat(s, 10.0, 4.0)
    )


def _physics(s: State) -> dict[str, F]:
    cooling = 800.0 * s.load * s.speed / (0.9 + 0.1 * s.load) * (1.0 - 0.5 * s.leak)
    supply_on = s.sp["supply_temperature_setpoint_c"] + 0.5 * s.load + 3.0 * s.leak + 1.5 * s.fouling
    process_return = 13.0 + 0.2 * (s.ambient - 22.0)
    supply = process_return - np.minimum(s.run, 1.0) * (process_return - supply_on)
    supply = np.where(s.seized > 0, process_return - 0.5, supply)
    cop = np.maximum(5.5 - 0.08 * (s.temp - 35.0) - 0.8 * s.fouling - 1.5 * s.leak, 1.5)
    power = cooling / cop + 10.0 * s.run
    return {
        "supply_temperature_c": supply,
        "return_temperature_c": supply + cooling / WATER_KW_PER_K,
        "condenser_temperature_c": s.temp,
        "evaporator_pressure_bar": 2.9 + 0.1 * (supply - 7.0) - 0.8 * s.leak,
        "condenser_pressure_bar": 9.6 + 0.28 * (s.temp - 38.0) - 1.0 * s.leak,
        "compressor_current_a": 1.7 * power + 5.0 * s.run + 200.0 * s.seized,
        "power_kw": power,
        "cooling_load_kw": cooling,
        "vibration_mm_s": vibration(s, s.speed, 0.8, 1.6),
    }


CHILLER = MachineType.from_catalogue(
    "chiller",
    prefix="chiller",
    noise={
        "supply_temperature_c": (0.05, None),
        "return_temperature_c": (0.05, None),
        "condenser_temperature_c": (0.2, None),
        "evaporator_pressure_bar": 0.01,
        "condenser_pressure_bar": 0.03,
        "compressor_current_a": 1.0,
        "power_kw": 0.6,
        "cooling_load_kw": 4.0,
        "vibration_mm_s": 0.05,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=900.0,
)
