"""Helpers for the simulator unit tests: run a fleet on a fixed simulated clock and decode what it sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from dtwin_pipeline.simulator.faults import FaultSpec
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def ticks(fleet: Fleet, n: int, dt: float = 1.0, t0: datetime = T0) -> list[list[dict[str, Any]]]:
    """Decoded messages per tick (held messages flushed into the last tick)."""
    out = []
    for i in range(n):
        out.append([orjson.loads(o.payload) for o in fleet.tick(t0 + timedelta(seconds=i * dt), dt)])
    out[-1].extend(orjson.loads(o.payload) for o in fleet.flush())
    return out


def run(cfg: SimulatorConfig, n: int, dt: float = 1.0, t0: datetime = T0) -> list[list[dict[str, Any]]]:
    return ticks(Fleet(cfg), n, dt, t0)


def stream(cfg: SimulatorConfig, n: int, dt: float = 1.0) -> list[dict[str, Any]]:
    """All messages in send order."""
    return [m for tick in run(cfg, n, dt) for m in tick]


def series(msgs: Sequence[dict[str, Any]], machine_id: str, sensor: str) -> dict[str, float]:
    """ts -> value of one sensor of one machine (last one wins)."""
    return {
        m["ts"]: m["readings"][sensor]
        for m in msgs
        if m["machine_id"] == machine_id and sensor in m["readings"]
    }


def one_type(tname: str, n: int = 4, seed: int = 7, faults: Sequence[FaultSpec] = ()) -> SimulatorConfig:
    return SimulatorConfig(machines=n, types=[tname], seed=seed, faults=list(faults))


def elapsed(ts: str) -> float:
    return (datetime.fromisoformat(ts) - T0).total_seconds()
