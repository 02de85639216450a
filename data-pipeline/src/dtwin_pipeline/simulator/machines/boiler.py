"""Fire-tube steam boiler: steam demand sets the firing rate and fuel flow; soot on the tubes (fouling)
raises flue-gas temperature and lowers efficiency (more fuel for the same steam); a tube leak drops drum
level and pressure. Steam temperature is the saturation temperature at drum pressure."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import F, MachineType, State


def _fire(s: State) -> F:
    return np.minimum(s.load, s.sp["firing_rate_limit_pct"] / 100.0)


def _heat(s: State) -> F:
    return s.ambient + s.run * (120.0 + 80.0 * _fire(s) + 90.0 * s.fouling)


def _physics(s: State) -> dict[str, F]:
    fire = _fire(s)
    pressure = s.run * (s.sp["steam_pressure_setpoint_bar"] - 0.8 * (fire - 0.5) - 2.5 * s.leak)
    steam = 12000.0 * fire * s.run
    eff = 0.9 - 0.08 * s.fouling - 0.03 * (1.0 - fire)
    return {
        "steam_pressure_bar": pressure,
        "steam_temperature_c": 100.0 * (np.maximum(pressure, 0.0) + 1.013) ** 0.25,
        "steam_flow_kg_h": steam,
        "feedwater_temperature_c": s.ambient + (73.0 + 10.0 * fire) * s.run,
        "flue_gas_temperature_c": s.temp,
        "fuel_flow_m3_h": steam * 0.075 / eff,
        "efficiency_pct": 100.0 * eff * np.minimum(s.run * 4.0, 1.0),
        "drum_level_pct": 50.0 - 5.0 * (fire - 0.5) - 20.0 * s.leak,
        "o2_pct": s.run * (3.0 + 2.0 * (1.0 - fire)) + (1.0 - s.run) * 20.9,
    }


BOILER = MachineType.from_catalogue(
    "boiler",
    prefix="boiler",
    noise={
        "steam_pressure_bar": 0.03,
        "steam_temperature_c": (0.2, None),
        "steam_flow_kg_h": 40.0,
        "feedwater_temperature_c": (0.2, None),
        "flue_gas_temperature_c": (0.5, None),
        "fuel_flow_m3_h": 4.0,
        "efficiency_pct": 0.1,
        "drum_level_pct": 0.3,
        "o2_pct": 0.05,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=1200.0,
    faults=frozenset({"fouling", "leak"}),
)
