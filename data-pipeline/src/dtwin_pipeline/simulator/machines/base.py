"""Building blocks of a machine type: sensors (unit in the name suffix, normal range, noise), settings a
device accepts on its `desired` topic, and the per-step physical `State` that type physics read. A type's
description, sensors (names, units, normal ranges) and settings (names, units, accepted ranges, initial
values) come from the machine catalogue in dtwin.contracts (`MachineType.from_catalogue`), which the backend
validates desired changes against too; the simulator adds the measurement noise and physics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dtwin.contracts.catalogue import catalogue_type

F = npt.NDArray[np.float64]

# per mode: (load multiplier, speed/run multiplier) the machine moves towards with a lag of MODE_TAU_S
MODE_TARGETS: dict[str, tuple[float, float]] = {"on": (1.0, 1.0), "standby": (0.15, 0.4), "off": (0.0, 0.0)}
MODE_TAU_S = 8.0

PHYSICAL_FAULTS = frozenset({"bearing_wear", "fouling", "misalignment", "leak", "seizure"})


@dataclass(frozen=True)
class Sensor:
    name: str
    unit: str
    lo: float  # normal operating range (healthy, mode "on", default settings)
    hi: float
    noise: float  # standard deviation of the measurement noise
    floor: float | None = 0.0  # physical lower bound of the reading (None: may go negative)


@dataclass(frozen=True)
class Setting:
    """A type-specific setpoint accepted in `desired` (from the catalogue); initial values are drawn from
    `initial`."""

    name: str
    unit: str
    lo: float
    hi: float
    initial: tuple[float, float]
    decimals: int = 1
    help: str = ""


@dataclass
class State:
    """What type physics see for one step; one array element per machine.

    `load` is the demanded load (daily cycle + random walk) times the mode's load multiplier, and 1.3 (stall)
    while seized. `run` is the lagged mode speed multiplier (1 on, 0.4 standby, 0 off); `speed` is
    run x (0.9 + 0.1 load), 0 while seized. Fault levels are 0 when healthy and up to 1. `clock` is the
    simulated wall clock (Unix seconds), `site` a stable number in [0, 1) per machine derived from its site's
    name and `attrs` the type's per-machine constants (`MachineType.attrs`): for types whose behaviour follows
    the calendar and the site (energy meters' shift profiles)."""

    t: float
    load: F
    run: F
    speed: F
    temp: F
    ambient: F
    wear: F
    fouling: F
    misalign: F
    leak: F
    seized: F
    sp: dict[str, F] = field(default_factory=dict)
    clock: float = 0.0
    site: F | None = None
    attrs: dict[str, F] = field(default_factory=dict)


Physics = Callable[[State], dict[str, F]]
Heat = Callable[[State], F]
# a sensor's measurement noise: its standard deviation, or (sd, floor) for a physical lower bound other than 0
# (None: the reading may go negative)
Noise = float | tuple[float, float | None]
# per-machine constants of a type, drawn once per fleet: (machines, rng) -> {name: (n,) array}
Attrs = Callable[[int, np.random.Generator], dict[str, F]]


@dataclass(frozen=True)
class MachineType:
    """A kind of machine. `heat` gives the steady-state temperature of its thermal mass (`State.temp` lags
    towards it with `thermal_tau_s`); `physics` turns the state into one noise-free array per sensor.
    `counter` names a cumulative register sensor (the catalogue's `counter: true`) that the fleet integrates
    from the noise-free `counter_rate` sensor (kWh from kW: energy = the integral of power), with no noise."""

    name: str
    prefix: str
    description: str
    sensors: tuple[Sensor, ...]
    settings: tuple[Setting, ...]
    physics: Physics
    heat: Heat
    thermal_tau_s: float = 600.0
    faults: frozenset[str] = PHYSICAL_FAULTS
    counter: str | None = None
    counter_rate: str | None = None
    attrs: Attrs | None = None

    @property
    def sensor_names(self) -> list[str]:
        return [s.name for s in self.sensors]

    def sensor(self, name: str) -> Sensor:
        for s in self.sensors:
            if s.name == name:
                return s
        raise KeyError(f"{self.name} has no sensor {name!r}; sensors: {', '.join(self.sensor_names)}")

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    @classmethod
    def from_catalogue(
        cls,
        name: str,
        *,
        prefix: str,
        noise: Mapping[str, Noise],
        physics: Physics,
        heat: Heat,
        thermal_tau_s: float = 600.0,
        faults: frozenset[str] = PHYSICAL_FAULTS,
        counter_rate: str | None = None,
        attrs: Attrs | None = None,
    ) -> MachineType:
        """The catalogue's type `name` (its description, sensors: names, units, normal ranges, in the
        catalogue's order, and settings: names, units, accepted ranges, initial ranges) with the simulator's
        part. `noise` must name exactly the catalogue's sensors; a
        catalogue counter sensor needs `counter_rate` (the sensor it integrates)."""
        spec = catalogue_type(name)
        names = [s.name for s in spec.sensors]
        if set(noise) != set(names):
            raise ValueError(
                f"{name}: noise given for {sorted(set(noise) - set(names))} not in the catalogue, "
                f"missing for {sorted(set(names) - set(noise))}"
            )
        sensors = []
        for s in spec.sensors:
            n = noise[s.name]
            sd, floor = n if isinstance(n, tuple) else (n, 0.0)
            sensors.append(Sensor(s.name, s.unit, s.lo, s.hi, sd, floor))
        counters = [s.name for s in spec.sensors if s.counter]
        if len(counters) > 1 or bool(counters) != (counter_rate is not None):
            raise ValueError(f"{name}: counters {counters} need exactly one counter_rate ({counter_rate!r})")
        return cls(
            name=spec.name,
            prefix=prefix,
            description=spec.description,
            sensors=tuple(sensors),
            settings=tuple(
                Setting(st.name, st.unit, st.lo, st.hi, st.initial, st.decimals, st.description)
                for st in spec.settings
            ),
            physics=physics,
            heat=heat,
            thermal_tau_s=thermal_tau_s,
            faults=faults,
            counter=counters[0] if counters else None,
            counter_rate=counter_rate,
            attrs=attrs,
        )


def vibration(s: State, frac: F, base: float, k: float, wear_k: float = 6.0, mis_k: float = 3.0) -> F:
    """Velocity RMS: a running floor, a speed-squared term, and bearing wear / misalignment terms that grow
    with speed (a worn bearing at standstill does not vibrate)."""
    moving = np.minimum(frac, 1.0) + 0.05 * s.run
    return base * s.run + k * frac**2 + (wear_k * s.wear + mis_k * s.misalign) * moving


def bearing_heat(s: State, wear_k: float = 25.0, mis_k: float = 8.0) -> F:
    """Extra heat from friction in a worn or misaligned drive train (°C above the healthy target)."""
    return (wear_k * s.wear + mis_k * s.misalign) * np.minimum(s.run + s.seized, 1.0)
