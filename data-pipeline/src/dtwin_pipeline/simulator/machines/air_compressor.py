"""Oil-injected rotary-screw air compressor on a variable-speed drive: air demand sets speed, flow and
current; a leak in the network adds demand (and past full capacity pulls pressure down); a clogged inlet
filter raises its pressure drop, cuts delivery and heats the air end."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _demand(s: State) -> F:
    return s.load + 0.4 * s.leak * s.run


def _heat(s: State) -> F:
    hot = np.minimum(s.run + s.seized, 1.0)
    return (
        s.ambient
        + (50.0 + 25.0 * np.minimum(_demand(s), 1.0) + 20.0 * s.fouling) * hot
        + bearing_heat(s, 15.0)
    )


def _physics(s: State) -> dict[str, F]:
    demand = _demand(s)
    delivered = np.minimum(demand, 1.0)
    sp = s.sp["pressure_setpoint_bar"]
    vsd = s.speed * (0.6 + 0.4 * delivered) / (0.9 + 0.1 * s.load)
    flow = 1200.0 * delivered * s.run * (1.0 - 0.3 * s.fouling) * (1.0 - s.seized)
    current = (20.0 * s.run + 160.0 * delivered * np.sqrt(sp / 7.5) * (1.0 + 0.15 * s.fouling)) * s.run
    current = current + 200.0 * s.seized
    return {
        "discharge_pressure_bar": s.run
        * (sp - 0.5 * (delivered - 0.5) - 3.0 * np.maximum(demand - 1.0, 0.0)),
        "discharge_temperature_c": s.temp,
        "oil_temperature_c": s.temp - 15.0 * s.run,
        "motor_current_a": current,
        "power_kw": 0.6 * current,
        "speed_rpm": 2980.0 * vsd,
        "flow_m3_h": flow,
        "inlet_filter_dp_mbar": 25.0 * (flow / 1200.0) ** 2 * (1.0 + 6.0 * s.fouling),
        "separator_dp_bar": 0.2 + 0.1 * flow / 1200.0,
        "vibration_mm_s": vibration(s, vsd, 1.0, 2.0),
    }


AIR_COMPRESSOR = MachineType.from_catalogue(
    "air_compressor",
    prefix="aircomp",
    noise={
        "discharge_pressure_bar": 0.03,
        "discharge_temperature_c": (0.3, None),
        "oil_temperature_c": (0.3, None),
        "motor_current_a": 0.8,
        "power_kw": 0.5,
        "speed_rpm": 5.0,
        "flow_m3_h": 6.0,
        "inlet_filter_dp_mbar": 0.3,
        "separator_dp_bar": 0.005,
        "vibration_mm_s": 0.06,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=900.0,
)
