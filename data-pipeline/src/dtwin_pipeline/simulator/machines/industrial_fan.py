"""Industrial fan: the affinity laws (flow ~ speed, pressure ~ speed², power ~ speed³); a clogged filter
raises its pressure drop and cuts airflow; bearing wear and imbalance raise vibration and bearing heat."""

from __future__ import annotations

from dtwin_pipeline.simulator.machines.base import (
    F,
    MachineType,
    Sensor,
    Setting,
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


INDUSTRIAL_FAN = MachineType(
    name="industrial_fan",
    prefix="fan",
    description="Centrifugal process fan with inlet filter and damper",
    sensors=(
        Sensor("speed_rpm", "rpm", 1200, 1800, 3.0),
        Sensor("vibration_mm_s", "mm/s", 0.6, 3.0, 0.06),
        Sensor("current_a", "A", 15, 95, 0.4),
        Sensor("power_kw", "kW", 8, 58, 0.3),
        Sensor("airflow_m3_h", "m3/h", 15000, 42500, 150.0),
        Sensor("static_pressure_pa", "Pa", 550, 1700, 8.0),
        Sensor("filter_dp_pa", "Pa", 20, 125, 1.0),
        Sensor("bearing_temperature_c", "°C", 25, 65, 0.3, None),
    ),
    settings=(Setting("speed_setpoint_pct", "%", 20, 100, (80, 100), 0, "fan speed"),),
    physics=_physics,
    heat=_heat,
)
