"""Industrial fan: the affinity laws (flow ~ speed, pressure ~ speed², power ~ speed³); a clogged filter
raises its pressure drop and cuts airflow; bearing wear and imbalance raise vibration and bearing heat."""

from __future__ import annotations

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    State,
    bearing_heat,
    vibration,
)


def _frac(s: State) -> F:
    return s.sp["speed_setpoint_pct"] / 100.0 * s.speed


def _heat(s: State) -> F:
    return s.ambient + 10.0 * s.run + 25.0 * _frac(s) ** 3 + 20.0 * s.seized + bearing_heat(s, 30.0, 10.0)


def _physics(s: State) -> dict[str, F]:
    frac = _frac(s)
    damper = 0.6 + 0.4 * s.load
    airflow = 42000.0 * frac * damper * (1.0 - 0.35 * s.fouling)
    power = 55.0 * frac**3 * damper * (1.0 - 0.2 * s.fouling) + 5.0 * s.seized
    return {
        "speed_rpm": 1780.0 * frac,
        "vibration_mm_s": vibration(s, frac, 0.7, 2.0),
        "current_a": 10.0 * s.run + 1.5 * power + 90.0 * s.seized,
        "power_kw": power,
        "airflow_m3_h": airflow,
        "static_pressure_pa": 1500.0 * frac**2 * (1.1 - 0.25 * s.load) * (1.0 + 0.3 * s.fouling),
        "filter_dp_pa": 120.0 * (airflow / 42000.0) ** 2 * (1.0 + 5.0 * s.fouling),
        "bearing_temperature_c": s.temp,
    }


INDUSTRIAL_FAN = MachineType.from_catalogue(
    "industrial_fan",
    prefix="fan",
    noise={
        "speed_rpm": 3.0,
        "vibration_mm_s": 0.06,
        "current_a": 0.4,
        "power_kw": 0.3,
        "airflow_m3_h": 150.0,
        "static_pressure_pa": 8.0,
        "filter_dp_pa": 1.0,
        "bearing_temperature_c": (0.3, None),
    },
    physics=_physics,
    heat=_heat,
)
