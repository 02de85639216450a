"""The simulator's machine catalogue as registry documents: what a fresh registry is seeded with, and the
scoring engine's ranges while the registry cannot be read."""

from __future__ import annotations

from dtwin.machine_types.ranges import Table
from dtwin.machine_types.schemas import MachineTypePut, SensorSpec


def catalogue_types() -> list[MachineTypePut] | None:
    """Every catalogue type with its sensors (unit, operating range); None without `dtwin_pipeline`."""
    try:
        from dtwin_pipeline.simulator.machines import MACHINE_TYPES
    except ImportError:  # backend installed without the data pipeline
        return None
    return [
        MachineTypePut(
            name=t.name,
            description=t.description,
            sensors=[SensorSpec(name=s.name, unit=s.unit, lo=s.lo, hi=s.hi) for s in t.sensors],
        )
        for t in MACHINE_TYPES.values()
    ]


def table_of(types: list[MachineTypePut]) -> Table:
    return {t.name: {s.name: (s.lo, s.hi) for s in t.sensors} for t in types if t.name is not None}


def catalogue_table() -> Table | None:
    """The catalogue's operating ranges per type and sensor (a `ScoringEngine(limits=...)` table), for
    tools that score without a registry; None without `dtwin_pipeline`."""
    types = catalogue_types()
    return table_of(types) if types is not None else None
