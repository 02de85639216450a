"""Vectorised physics of all machines of one type: demand (daily cycle + mean-reverting random walk), mode
lag (on/standby/off), thermal lag, fault levels, measurement noise. One numpy pass per step, no Python loop
over machines or readings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dtwin_pipeline.simulator.machines.base import (
    MODE_TARGETS,
    MODE_TAU_S,
    MODES,
    F,
    MachineType,
    State,
)

DAY_S = 86_400.0
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
        return values
