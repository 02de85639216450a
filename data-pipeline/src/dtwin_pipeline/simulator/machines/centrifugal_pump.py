"""Centrifugal pump: speed (VFD setpoint) sets flow and head by the affinity laws; a clogged suction
strainer (fouling) starves the inlet (low suction pressure, less flow, cavitation vibration)."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _frac(s: State) -> F:
    return s.sp["speed_setpoint_rpm"] / 2950.0 * s.speed


def _heat(s: State) -> F:
    return s.ambient + 16.0 * s.run + 32.0 * s.load * np.minimum(s.run + s.seized, 1.0) + bearing_heat(s)


def _physics(s: State) -> dict[str, F]:
    frac = _frac(s)
    clog = s.fouling
    current = 18.0 * s.run + 42.0 * s.load * frac + 80.0 * s.seized
    return {
        "temperature_c": s.temp,
        "vibration_mm_s": vibration(s, frac, 0.8, 2.2) + 2.0 * clog * frac,
        "pressure_bar": 7.5 * frac**2 * (1.1 - 0.2 * s.load) * (1.0 - 0.4 * s.leak),
        "flow_m3_h": 140.0 * frac * (0.5 + 0.5 * s.load) * (1.0 - 0.35 * clog) * (1.0 + 0.15 * s.leak),
        "current_a": current,
        "speed_rpm": 2950.0 * frac,
        "power_kw": 0.55 * current * (frac + 0.5 * s.seized),
        "bearing_temperature_c": s.temp + 5.0 + 30.0 * s.wear + 8.0 * s.misalign,
        "suction_pressure_bar": 1.6 - 0.3 * s.load * frac - 1.0 * clog * frac,
    }


CENTRIFUGAL_PUMP = MachineType.from_catalogue(
    "centrifugal_pump",
    prefix="pump",
    noise={
        "temperature_c": (0.3, None),
        "vibration_mm_s": 0.08,
        "pressure_bar": 0.05,
        "flow_m3_h": 1.0,
        "current_a": 0.3,
        "speed_rpm": 5.0,
        "power_kw": 0.2,
        "bearing_temperature_c": (0.3, None),
        "suction_pressure_bar": 0.01,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=600.0,
    faults=frozenset({"bearing_wear", "fouling", "misalignment", "leak", "seizure"}),
)
