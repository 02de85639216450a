"""The machine catalogue (dtwin.contracts.catalogue, a data file the simulator reads too) as registry
documents: what a fresh registry is seeded with, and the scoring engine's ranges while the registry cannot
be read."""

from __future__ import annotations

from typing import Any

from dtwin.contracts.catalogue import machine_catalogue
from dtwin.machine_types.ranges import Table, counters_of, physical_of
from dtwin.machine_types.schemas import MachineTypePut, SensorSpec


def catalogue_types() -> list[MachineTypePut]:
    """Every catalogue type with its sensors (unit, operating range, physical range)."""
    return [
        MachineTypePut(
            name=t.name,
            description=t.description,
            sensors=[
                SensorSpec(
                    name=s.name,
                    unit=s.unit,
                    lo=s.lo,
                    hi=s.hi,
                    phys_lo=s.phys_lo,
                    phys_hi=s.phys_hi,
                    counter=s.counter,
                )
                for s in t.sensors
            ],
        )
        for t in machine_catalogue().values()
    ]


def type_rows(types: list[MachineTypePut]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(name, sensor documents) per type: the shape the registry's live types have (OperatingRanges)."""
    return [(t.name, [s.model_dump() for s in t.sensors]) for t in types if t.name is not None]


def table_of(types: list[MachineTypePut]) -> Table:
    return {t.name: {s.name: (s.lo, s.hi) for s in t.sensors} for t in types if t.name is not None}


def physical_table_of(types: list[MachineTypePut]) -> Table:
    """The physical ranges per type and sensor (an absent end: unbounded); sensors with none are left out."""
    return {t.name: physical_of(s.model_dump() for s in t.sensors) for t in types if t.name is not None}


def counters_table_of(types: list[MachineTypePut]) -> dict[str, frozenset[str]]:
    """The counter sensors per type (never anomaly-scored)."""
    return {t.name: counters_of(s.model_dump() for s in t.sensors) for t in types if t.name is not None}


def catalogue_table() -> Table:
    """The catalogue's operating ranges per type and sensor (a `ScoringEngine(limits=...)` table), for
    tools that score without a registry."""
    return table_of(catalogue_types())
