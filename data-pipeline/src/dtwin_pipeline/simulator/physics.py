"""Vectorised physics of all machines of one type: demand (daily cycle + mean-reverting random walk), mode
lag (on/standby/off), thermal lag, fault levels, measurement noise. One numpy pass per step, no Python loop
over machines or readings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dtwin.contracts.catalogue import MODES
from dtwin_pipeline.simulator.machines.base import (
    MODE_TARGETS,
    MODE_TAU_S,
    F,
    MachineType,
    State,
)

DAY_S = 86_400.0
ROLLOVER_KWH = 999_999.9  # where a meter's register wraps to 0 (reported as `rollover_kwh`)
_LOAD_TARGET = np.array([MODE_TARGETS[m][0] for m in MODES])
_RUN_TARGET = np.array([MODE_TARGETS[m][1] for m in MODES])
FAULT_LEVELS = ("wear", "fouling", "misalign", "leak", "seized")


class TypeFleet:
    """All machines of one type, simulated together as arrays.

    Randomness comes only from `rng` and is drawn in the same shapes every step, so a run is a pure
    function of the seed and the step sequence (fault levels and settings change values, never the draws)."""

    def __init__(self, mtype: MachineType, n: int, rng: np.random.Generator) -> None:
        self.type = mtype
        self.n = n
        self.rng = rng
        self.names = mtype.sensor_names
        self.base_load = rng.uniform(0.45, 0.75, n)
        self.phase = rng.uniform(0.0, 2 * np.pi, n)
        self.ambient_phase = rng.uniform(-0.3, 0.3, n)
        self.walk = np.zeros(n)
        self.sp: dict[str, F] = {
            st.name: np.round(rng.uniform(st.initial[0], st.initial[1], n), st.decimals)
            for st in mtype.settings
        }
        self.mode: npt.NDArray[np.int8] = np.zeros(n, dtype=np.int8)  # index into MODES
        self.load_mult = np.ones(n)
        self.run = np.ones(n)
        self.levels: dict[str, F] = {k: np.zeros(n) for k in FAULT_LEVELS}
        self.faulted = False  # some level is non-zero (set by the fault engine)
        self.noise = np.array([s.noise for s in mtype.sensors])[:, None]
        self.floor = np.array([-np.inf if s.floor is None else s.floor for s in mtype.sensors])[:, None]
        self.load = np.clip(self.base_load, 0.05, 1.0)
        # calendar/site inputs (the fleet sets them: clock at its first tick, site from each machine's site)
        self.epoch0 = 0.0
        self.site = np.zeros(n)
        self.attrs: dict[str, F] = mtype.attrs(n, rng) if mtype.attrs is not None else {}
        self.counter_row = self.names.index(mtype.counter) if mtype.counter is not None else -1
        if self.counter_row >= 0:
            # a cumulative register (kWh): where each meter stands at the start, and where it wraps
            self.register = np.round(rng.uniform(1_000.0, 600_000.0, n), 1)
            self.rollover = np.full(n, ROLLOVER_KWH)
        self.temp = np.zeros(n)
        self.temp = mtype.heat(self._state(0.0, self.load)) + rng.normal(0.0, 0.5, n)

    def _state(self, t: float, demand: F) -> State:
        seized = self.levels["seized"]
        load = np.where(seized > 0, 1.3, demand * self.load_mult)
        speed = self.run * (0.9 + 0.1 * load) * (1.0 - seized)
        ambient = 22.0 + 4.0 * np.sin(2 * np.pi * t / DAY_S - np.pi / 2 + self.ambient_phase)
        return State(
            t=t,
            load=load,
            run=self.run,
            speed=speed,
            temp=self.temp,
            ambient=ambient,
            wear=self.levels["wear"],
            fouling=self.levels["fouling"],
            misalign=self.levels["misalign"],
            leak=self.levels["leak"],
            seized=seized,
            sp=self.sp,
            clock=self.epoch0 + t,
            site=self.site,
            attrs=self.attrs,
        )

    def step(self, t: float, dt: float) -> F:
        """Advance dt seconds to elapsed time t; returns readings as a (sensors x machines) array."""
        self.walk += -self.walk * min(dt / 900.0, 1.0) + self.rng.normal(0.0, 0.02 * np.sqrt(dt), self.n)
        daily = 0.15 * np.sin(2 * np.pi * t / DAY_S + self.phase)
        demand = np.clip(self.base_load + daily + self.walk, 0.05, 1.0)
        k = 1.0 - np.exp(-dt / MODE_TAU_S)
        self.load_mult += (_LOAD_TARGET[self.mode] - self.load_mult) * k
        self.run += (_RUN_TARGET[self.mode] - self.run) * k
        state = self._state(t, demand)
        self.load = state.load
        target = self.type.heat(state)
        self.temp += (target - self.temp) * (1.0 - np.exp(-dt / self.type.thermal_tau_s))
        out = self.type.physics(state)
        values: F = np.empty((len(self.names), self.n))
        for i, name in enumerate(self.names):
            values[i] = out[name]  # broadcasts scalars and (n,) arrays alike
        values += self.noise * self.rng.standard_normal(values.shape)
        np.maximum(values, self.floor, out=values)
        if not np.isfinite(values).all():
            np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if self.counter_row >= 0:
            values[self.counter_row] = self._integrate(out, dt)
        return values

    def _integrate(self, out: dict[str, F], dt: float) -> F:
        """Advance the register by the step's energy (the noise-free rate over the step that ends now) and
        wrap it at its rollover value; the reading is the register (a meter's counter has no noise)."""
        assert self.type.counter_rate is not None
        rate = np.broadcast_to(np.maximum(out[self.type.counter_rate], 0.0), (self.n,))
        self.register += rate * dt / 3600.0
        wrapped = self.register >= self.rollover
        if wrapped.any():
            self.register[wrapped] -= self.rollover[wrapped]
        return self.register.copy()

    def counter_fault(self, j: int, kind: str, value: float) -> None:
        """A labelled data fault on machine j's register (fault engine, at the fault's start): `reset` to
        0, `replace` by a new meter reading `value`, `preset` to `value` below its rollover (wraps soon)."""
        if kind == "reset":
            self.register[j] = 0.0
        elif kind == "replace":
            self.register[j] = value
        elif kind == "preset":
            self.register[j] = max(self.rollover[j] - value, 0.0)
        else:
            raise ValueError(f"unknown counter fault {kind!r}")
