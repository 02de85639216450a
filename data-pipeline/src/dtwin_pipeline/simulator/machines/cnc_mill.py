"""CNC mill: spindle speed and feed override set the cutting power; spindle bearing wear raises vibration,
power and heat; a clogged coolant filter (fouling) warms the coolant."""

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
    return s.sp["spindle_speed_setpoint_rpm"] * s.speed / 12000.0


def _heat(s: State) -> F:
    frac = _frac(s)
    return s.ambient + 6.0 * s.run + 28.0 * s.load * np.maximum(frac, s.seized) + bearing_heat(s, 15.0)


def _physics(s: State) -> dict[str, F]:
    frac = _frac(s)
    feed = s.sp["feed_override_pct"] / 100.0
    return {
        "temperature_c": s.temp,
        "vibration_mm_s": vibration(s, frac, 0.4, 1.6) + 0.8 * s.load * s.run,
        "spindle_speed_rpm": 12000.0 * frac,
        "spindle_load_pct": 15.0 * s.run + 70.0 * s.load * feed * s.run + 40.0 * s.seized,
        "power_kw": 4.0 * s.run + 18.0 * s.load * frac * feed + 6.0 * s.wear * frac,
        "coolant_temperature_c": 20.0 + 4.0 * (s.temp - 30.0) / 30.0 + 5.0 * s.fouling,
        "feed_rate_mm_min": 2000.0 * feed * (0.5 + 0.5 * s.load) * s.run * (1.0 - s.seized),
    }


CNC_MILL = MachineType.from_catalogue(
    "cnc_mill",
    prefix="cnc",
    noise={
        "temperature_c": (0.2, None),
        "vibration_mm_s": 0.07,
        "spindle_speed_rpm": 20.0,
        "spindle_load_pct": 0.8,
        "power_kw": 0.2,
        "coolant_temperature_c": (0.1, None),
        "feed_rate_mm_min": 10.0,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=400.0,
    faults=frozenset({"bearing_wear", "fouling", "misalignment", "seizure"}),
)
