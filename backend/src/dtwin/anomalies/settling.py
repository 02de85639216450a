"""Settling windows after operator commands: a commanded setpoint change moves the machine to a new steady
state, so for a while the sensors it affects are not judged as anomalous and their baselines re-anchor to the
new level. Which sensors a command affects and how long a type settles come from `CommandEffects` (the machine
catalogue's `commands`/`settle_s` by default); the per-series windows and the re-anchoring are pure numpy."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from dtwin.anomalies.detectors import SeriesState
from dtwin.anomalies.scan import F64, I64, Bool, SoA
from dtwin.contracts.catalogue import machine_catalogue


class CommandEffects(Protocol):
    """The machine type's knowledge of its commands."""

    def sensors(self, machine_type: str, setting: str) -> tuple[str, ...] | None:
        """The sensors a change of `setting` moves; None when unknown (then all of the machine's)."""
        ...

    def settle_s(self, machine_type: str) -> float | None:
        """Seconds the type takes to settle after a command; None when unknown (the engine's default)."""
        ...


class CatalogueEffects:
    """`CommandEffects` from the machine catalogue (contracts/catalogue.json). Types the catalogue does not
    have (registered through the API only) and settings it does not list (`mode`) affect every sensor."""

    def sensors(self, machine_type: str, setting: str) -> tuple[str, ...] | None:
        t = machine_catalogue().get(machine_type)
        return None if t is None else t.commands.get(setting)

    def settle_s(self, machine_type: str) -> float | None:
        t = machine_catalogue().get(machine_type)
        return None if t is None else t.settle_s


def affected(
    effects: CommandEffects, machine_type: str, settings: Iterable[str], sensors: list[str]
) -> list[str]:
    """The machine's sensors (`sensors`) a command changing `settings` affects."""
    out: set[str] = set()
    for setting in settings:
        named = effects.sensors(machine_type, setting)
        if named is None:
            return list(sensors)
        out.update(named)
    return [s for s in sensors if s in out]


@dataclass
class SettleState(SoA):
    """Per series: the settling window [since, until] in stream time (epoch seconds); none: -inf."""

    FILL: ClassVar[dict[str, float]] = {"since": -math.inf, "until": -math.inf}

    since: F64
    until: F64

    def open(self, slots: I64, at: float, length_s: float) -> None:
        """Open (or extend) the window of these series from `at` for `length_s` seconds. A window still
        open keeps its start; one that ended starts again at `at`."""
        if slots.shape[0] == 0:
            return
        end = self.until[slots]
        running = end >= at
        self.since[slots] = np.where(running, np.minimum(self.since[slots], at), at)
        self.until[slots] = np.maximum(end, at + length_s)

    def settling(self, slots: I64, ts: F64) -> Bool:
        """Readings (series slot, time) inside their series' window."""
        ok = slots >= 0
        s = np.maximum(slots, 0)
        out: Bool = ok & (ts >= self.since[s]) & (ts <= self.until[s])
        return out


# what a commanded step does to a series' estimates of its noise: frozen at their pre-command values
_FROZEN = ("sc", "q_sc", "dl", "ds", "q_dif", "dsp", "q_dsp")


def reanchor(pre: SeriesState, post: SeriesState, cols: Bool, warmup: int) -> None:
    """Re-anchor the series of `cols` (settling during this batch) to their new level, in `post`: the noise
    and first-difference scales and the drift spread of series past their `warmup` keep their pre-batch
    values (a commanded step is not noise, and a widened sigma would blind the series for a while; a series
    still warming up goes on learning them, or a scale from its first few samples would stay frozen through
    the window and make ordinary noise look like a spike once it ends), and the drift detector's fast and
    slow levels (and so the type model's deviation reference) start again from no samples: once the window
    ends both are the mean of the readings since, so the new steady state reads as normal. (Setting them to
    the tracked level instead anchored the slow one to a single noisy estimate for ~1,000 samples, an offset
    the type model's smoothed deviations, averaged over ~100 samples, read as a fault.)"""
    if not cols.any():
        return
    frozen = cols & (pre.n >= warmup)
    for name in _FROZEN:
        getattr(post, name)[frozen] = getattr(pre, name)[frozen]
    idx = np.flatnonzero(cols)
    post.dfast[idx], post.q_fast[idx] = 0.0, 1.0
    post.dslow[idx], post.q_slow[idx] = 0.0, 1.0
