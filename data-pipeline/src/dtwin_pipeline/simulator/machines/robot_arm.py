"""Six-axis robot arm (three main joints measured): speed override and payload set joint motor currents
and temperatures; gear/bearing wear and misalignment raise vibration and positioning error."""

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
    return s.sp["speed_override_pct"] / 100.0 * s.speed


def _heat(s: State) -> F:
    return (
        s.ambient + 5.0 * s.run + 20.0 * s.load * np.maximum(_frac(s), s.seized) + bearing_heat(s, 12.0, 4.0)
    )


def _physics(s: State) -> dict[str, F]:
    frac = _frac(s)
    work = s.load * frac
    return {
        "base_joint_temperature_c": s.temp,
        "shoulder_joint_temperature_c": s.temp + 6.0 * s.load * s.run + 15.0 * s.wear,
        "elbow_joint_temperature_c": s.temp - 3.0 + 4.0 * s.load * s.run + 8.0 * s.wear,
        "base_motor_current_a": 2.0 * s.run + 6.0 * work + 1.5 * s.misalign * s.run + 20.0 * s.seized,
        "shoulder_motor_current_a": 3.0 * s.run + 10.0 * work + 2.0 * s.wear * s.run + 20.0 * s.seized,
        "elbow_motor_current_a": 1.5 * s.run + 5.0 * work + 10.0 * s.seized,
        "vibration_mm_s": vibration(s, frac, 0.2, 1.2, 5.0, 2.0),
        "cycle_time_s": s.run * 12.0 / np.maximum(frac, 0.3),
        "position_error_mm": (0.02 + 0.03 * frac + 0.3 * s.wear + 0.5 * s.misalign)
        * np.minimum(s.run * 4.0, 1.0),
        "tool_speed_mm_s": 1500.0 * frac * (0.8 + 0.2 * s.load),
    }


ROBOT_ARM = MachineType.from_catalogue(
    "robot_arm",
    prefix="robot",
    noise={
        "base_joint_temperature_c": (0.2, None),
        "shoulder_joint_temperature_c": (0.2, None),
        "elbow_joint_temperature_c": (0.2, None),
        "base_motor_current_a": 0.05,
        "shoulder_motor_current_a": 0.08,
        "elbow_motor_current_a": 0.04,
        "vibration_mm_s": 0.03,
        "cycle_time_s": 0.1,
        "position_error_mm": 0.002,
        "tool_speed_mm_s": 5.0,
    },
    physics=_physics,
    heat=_heat,
    faults=frozenset({"bearing_wear", "misalignment", "seizure"}),
)
