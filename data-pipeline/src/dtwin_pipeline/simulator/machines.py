"""Machine types: sensors with units and normal ranges, and coupled physics vectorised over all machines
of a type. Load drives speed, flow, current and power; temperature follows electrical and mechanical losses
with a thermal lag; vibration grows with speed squared. Load follows a daily cycle plus a slow random walk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Sensor:
    name: str
    unit: str
    lo: float  # normal operating range
    hi: float
    noise: float  # standard deviation of measurement noise


@dataclass(frozen=True)
class MachineType:
    name: str
    prefix: str
    sensors: tuple[Sensor, ...]
    # (load, speed_frac, temp_state, rng) -> one array per sensor, in `sensors` order (before noise)
    physics: Callable[[F, F, F], list[F]]
    thermal_target: Callable[[F], F]  # steady-state temperature at a given load
    thermal_tau_s: float = 600.0


def _pump(load: F, speed: F, temp: F) -> list[F]:
    flow = 140.0 * speed * (0.5 + 0.5 * load)
    pressure = 7.5 * speed**2 * (1.1 - 0.2 * load)
    current = 18.0 + 42.0 * load * speed
    power = 0.55 * current * speed
    vibration = 0.8 + 2.2 * speed**2
    return [temp, vibration, pressure, flow, current, 2950.0 * speed, power]


def _compressor(load: F, speed: F, temp: F) -> list[F]:
    pressure = 4.0 + 6.0 * load
    current = 30.0 + 90.0 * load
    vibration = 2.0 + 4.0 * speed**2 + 1.5 * load
    return [temp, vibration, pressure, current, 980.0 * speed, temp - 25.0 + 20.0 * load]


def _motor(load: F, speed: F, temp: F) -> list[F]:
    current = 12.0 + 48.0 * load
    torque = 180.0 * load
    vibration = 0.6 + 1.8 * speed**2
    return [temp, vibration, current, 1480.0 * (1.0 - 0.02 * load), torque, 400.0 - 3.0 * load]


def _cnc(load: F, speed: F, temp: F) -> list[F]:
    spindle = 12000.0 * speed
    spindle_load = 15.0 + 70.0 * load
    vibration = 0.4 + 1.6 * speed**2 + 0.8 * load
    power = 4.0 + 18.0 * load * speed
    return [temp, vibration, spindle, spindle_load, power, 20.0 + 4.0 * (temp - 30.0) / 30.0]


def _conveyor(load: F, speed: F, temp: F) -> list[F]:
    belt = 2.5 * speed
    current = 6.0 + 20.0 * load
    vibration = 0.5 + 1.2 * speed**2
    return [temp, vibration, belt, current, 100.0 * load]


MACHINE_TYPES: dict[str, MachineType] = {
    t.name: t
    for t in (
        MachineType(
            "centrifugal_pump",
            "pump",
            (
                Sensor("temperature_c", "°C", 35, 80, 0.3),
                Sensor("vibration_mm_s", "mm/s", 0.5, 4.5, 0.08),
                Sensor("pressure_bar", "bar", 3, 9, 0.05),
                Sensor("flow_m3_h", "m3/h", 40, 150, 1.0),
                Sensor("current_a", "A", 15, 65, 0.3),
                Sensor("speed_rpm", "rpm", 1500, 3000, 5.0),
                Sensor("power_kw", "kW", 5, 40, 0.2),
            ),
            _pump,
            lambda load: 38.0 + 32.0 * load,
        ),
        MachineType(
            "reciprocating_compressor",
            "comp",
            (
                Sensor("temperature_c", "°C", 50, 110, 0.4),
                Sensor("vibration_mm_s", "mm/s", 1.5, 9.0, 0.15),
                Sensor("pressure_bar", "bar", 3, 11, 0.05),
                Sensor("current_a", "A", 25, 125, 0.5),
                Sensor("speed_rpm", "rpm", 600, 1000, 3.0),
                Sensor("oil_temperature_c", "°C", 30, 85, 0.3),
            ),
            _compressor,
            lambda load: 55.0 + 45.0 * load,
            900.0,
        ),
        MachineType(
            "induction_motor",
            "motor",
            (
                Sensor("temperature_c", "°C", 30, 95, 0.3),
                Sensor("vibration_mm_s", "mm/s", 0.4, 3.5, 0.06),
                Sensor("current_a", "A", 10, 62, 0.3),
                Sensor("speed_rpm", "rpm", 1440, 1490, 1.0),
                Sensor("torque_nm", "N·m", 0, 190, 1.5),
                Sensor("voltage_v", "V", 390, 410, 0.8),
            ),
            _motor,
            lambda load: 35.0 + 50.0 * load,
        ),
        MachineType(
            "cnc_mill",
            "cnc",
            (
                Sensor("temperature_c", "°C", 25, 60, 0.2),
                Sensor("vibration_mm_s", "mm/s", 0.3, 3.5, 0.07),
                Sensor("spindle_speed_rpm", "rpm", 3000, 12500, 20.0),
                Sensor("spindle_load_pct", "%", 10, 90, 0.8),
                Sensor("power_kw", "kW", 3, 24, 0.2),
                Sensor("coolant_temperature_c", "°C", 18, 28, 0.1),
            ),
            _cnc,
            lambda load: 28.0 + 28.0 * load,
            400.0,
        ),
        MachineType(
            "conveyor",
            "conv",
            (
                Sensor("temperature_c", "°C", 20, 55, 0.2),
                Sensor("vibration_mm_s", "mm/s", 0.3, 2.5, 0.05),
                Sensor("belt_speed_m_s", "m/s", 1.0, 2.6, 0.01),
                Sensor("current_a", "A", 5, 27, 0.2),
                Sensor("load_pct", "%", 0, 100, 0.5),
            ),
            _conveyor,
            lambda load: 25.0 + 25.0 * load,
            300.0,
        ),
    )
}


class TypeFleet:
    """All machines of one type, simulated together as arrays."""

    def __init__(self, mtype: MachineType, n: int, rng: np.random.Generator) -> None:
        self.type = mtype
        self.n = n
        self.rng = rng
        self.base_load = rng.uniform(0.45, 0.75, n)
        self.phase = rng.uniform(0, 2 * np.pi, n)
        self.walk = np.zeros(n)
        self.speed_set = rng.uniform(0.85, 1.0, n)
        self.temp = mtype.thermal_target(self.base_load) + rng.normal(0, 1.0, n)

    def step(self, t: float, dt: float) -> tuple[F, list[F]]:
        """Advance dt seconds to wall time t; returns (load, readings per sensor)."""
        # slow mean-reverting random walk on top of a daily (24 h) load cycle
        self.walk += -self.walk * min(dt / 900.0, 1.0) + self.rng.normal(0, 0.02 * np.sqrt(dt), self.n)
        daily = 0.15 * np.sin(2 * np.pi * t / 86_400.0 + self.phase)
        load = np.clip(self.base_load + daily + self.walk, 0.05, 1.0)
        speed = self.speed_set * (0.9 + 0.1 * load)
        target = self.type.thermal_target(load)
        self.temp += (target - self.temp) * (1.0 - np.exp(-dt / self.type.thermal_tau_s))
        values = self.type.physics(load, speed, self.temp)
        noisy = [
            v + self.rng.normal(0.0, s.noise, self.n) for v, s in zip(values, self.type.sensors, strict=True)
        ]
        return load, noisy
