"""Three-phase energy meter on a feeder: its power follows the site's shift pattern in local time (weekday
shifts high, nights and weekends at base load, scaled per site), the fleet integrates that power into the
cumulative `energy_kwh` register, and the per-phase currents satisfy P = 3·V_ph·I·PF (= √3·V_LL·I·PF)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from dtwin_pipeline.simulator.machines.base import F, MachineType, State

SITE_TZ = ZoneInfo("Europe/Berlin")  # the simulated plants' local time
RAMP_H = 0.5  # a shift's load ramps up/down over half an hour
# shift patterns by site (State.site in [0, 1)): (upper bound of `site`, weekday hours, Saturday hours)
SHIFT_PATTERNS: tuple[tuple[float, tuple[float, float], tuple[float, float] | None], ...] = (
    (0.4, (6.0, 22.0), None),  # two shifts, Monday to Friday
    (0.8, (7.0, 16.0), None),  # one day shift, Monday to Friday
    (1.0, (0.0, 24.0), (6.0, 14.0)),  # three shifts on weekdays, a Saturday morning shift
)


def _attrs(n: int, rng: np.random.Generator) -> dict[str, F]:
    imbalance = rng.uniform(0.95, 1.05, (3, n))
    return {
        "rated_kw": rng.uniform(60.0, 220.0, n),  # feeder load with every shift running (before site scale)
        "base": rng.uniform(0.2, 0.35, n),  # base load (nights, weekends) as a share of it
        "pf_offset": rng.uniform(-0.02, 0.02, n),
        "v1": rng.uniform(-3.0, 3.0, n),
        "v2": rng.uniform(-3.0, 3.0, n),
        "v3": rng.uniform(-3.0, 3.0, n),
        # per-phase share of the current, mean 1 so the phases add up to the total power exactly
        "i1": imbalance[0] / imbalance.mean(axis=0),
        "i2": imbalance[1] / imbalance.mean(axis=0),
        "i3": imbalance[2] / imbalance.mean(axis=0),
    }


def _window(h: float, span: tuple[float, float]) -> float:
    start, end = span
    return float(np.clip((h - start) / RAMP_H + 1.0, 0.0, 1.0) * np.clip((end - h) / RAMP_H, 0.0, 1.0))


def shift_level(clock: float, site: F) -> F:
    """How much of each machine's site is at work at Unix time `clock` (0: base load only, 1: all shifts),
    by the site's pattern (SHIFT_PATTERNS) in local time (DST included)."""
    local = datetime.fromtimestamp(clock, SITE_TZ)
    h = local.hour + local.minute / 60.0 + local.second / 3600.0
    weekday = local.weekday()
    levels = []
    for _, hours, saturday in SHIFT_PATTERNS:
        span = hours if weekday < 5 else saturday if weekday == 5 else None
        levels.append(0.0 if span is None else _window(h, span))
    bounds = np.array([b for b, _, _ in SHIFT_PATTERNS])
    idx = np.minimum(np.searchsorted(bounds, site, side="right"), len(bounds) - 1)
    return np.asarray(levels)[idx]


def site_scale(site: F) -> F:
    """Plants differ in size: 0.7 to 1.3 times a meter's rated load."""
    return 0.7 + 0.6 * site


def _physics(s: State) -> dict[str, F]:
    a = s.attrs
    site = s.site if s.site is not None else np.zeros_like(s.load)
    level = shift_level(s.clock, site)
    share = a["base"] + (1.0 - a["base"]) * level
    power = a["rated_kw"] * site_scale(site) * share * (0.85 + 0.3 * np.clip(s.load, 0.0, 1.0)) * s.run
    pf = 0.8 + 0.13 * level + a["pf_offset"]
    drop = 4.0 * power / 300.0  # the feeder's voltage sags a little under load
    v = [230.0 + a[f"v{k}"] - drop for k in (1, 2, 3)]
    out = {"energy_kwh": np.zeros_like(power), "power_kw": power, "power_factor": pf}
    for k in (1, 2, 3):
        out[f"voltage_l{k}_v"] = v[k - 1]
        out[f"current_l{k}_a"] = power * 1000.0 * a[f"i{k}"] / (3.0 * v[k - 1] * pf)
    return out


def _heat(s: State) -> F:
    return s.ambient  # no thermal mass worth simulating


ENERGY_METER = MachineType.from_catalogue(
    "energy_meter",
    prefix="meter",
    noise={
        "energy_kwh": 0.0,  # the register is exact; the fleet integrates it from the noise-free power
        "power_kw": 0.3,
        "voltage_l1_v": 0.3,
        "voltage_l2_v": 0.3,
        "voltage_l3_v": 0.3,
        "current_l1_a": 0.5,
        "current_l2_a": 0.5,
        "current_l3_a": 0.5,
        "power_factor": 0.003,
    },
    physics=_physics,
    heat=_heat,
    faults=frozenset(),
    counter_rate="power_kw",
    attrs=_attrs,
)
