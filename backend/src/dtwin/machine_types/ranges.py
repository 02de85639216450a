"""Operating ranges for the scoring engine and physical ranges for data cleansing: the registry's
(machine type, sensor) -> (lo, hi) and -> (phys_lo, phys_hi), held in memory so the consumer's hot path is a
dict lookup, never a query."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.anomalies.config import Range
from dtwin.machine_types.repository import MachineTypeRepository

log = structlog.get_logger(__name__)

Table = dict[str, dict[str, Range]]
Source = Literal["registry", "catalogue", "none"]


def ranges_of(sensors: Iterable[Mapping[str, Any]]) -> dict[str, Range]:
    return {str(s["name"]): (float(s["lo"]), float(s["hi"])) for s in sensors}


def counters_of(sensors: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The sensors that are cumulative counters (`counter: true`): never anomaly-scored."""
    return frozenset(str(s["name"]) for s in sensors if s.get("counter"))


def physical_of(sensors: Iterable[Mapping[str, Any]]) -> dict[str, Range]:
    """The sensors' physical ranges (an absent end: -inf or +inf); sensors with neither end are left out."""
    out: dict[str, Range] = {}
    for s in sensors:
        lo, hi = s.get("phys_lo"), s.get("phys_hi")
        if lo is not None or hi is not None:
            out[str(s["name"])] = (
                -math.inf if lo is None else float(lo),
                math.inf if hi is None else float(hi),
            )
    return out


TypeRows = Sequence[tuple[str, Sequence[Mapping[str, Any]]]]  # (type name, its sensor documents)


class OperatingRanges:
    """Per machine type and sensor the operating range, for `ScoringEngine(limits=...)` (it is the callable,
    and its `version` tells the engine to re-read the ranges of the series it knows).

    Loaded from the registry at start and every `refresh_s` after (changes made by other backend processes),
    and changed at once when a change commits in this process (`set_type`). `version` grows only when the
    table changes. If the registry cannot be read, the last table stays; if it never could, `fallback` (the
    machine catalogue's types) is used until it can.

    The same rows give the physical ranges (`physical`, with `physical_version`), which the data-cleansing
    stage of the consumer reads (data_quality/cleanse.py), and the counters (`counters`, `is_counter`):
    sensors the scoring engine leaves out."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        fallback: TypeRows | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.fallback = fallback
        self.refresh_s = refresh_s
        self.table: Table = {}
        self.version = 0
        self.physical: Table = {}
        self.physical_version = 0
        self.counters: dict[str, frozenset[str]] = {}
        self.source: Source = "none"
        self._sensors: dict[str, Sequence[Mapping[str, Any]]] = {}  # per type: what the tables come from

    def __call__(self, machine_type: str, sensor: str) -> Range | None:
        return self.table.get(machine_type, {}).get(sensor)

    def is_counter(self, machine_type: str, sensor: str) -> bool:
        """Whether the type declares the sensor a cumulative counter (`ScoringEngine(unscored=...)`)."""
        return sensor in self.counters.get(machine_type, ())

    def _replace(self, rows: TypeRows, source: Source) -> bool:
        """Every table from these types' sensors; True when the operating ranges changed."""
        self.source = source
        self.counters = {name: counters_of(sensors) for name, sensors in rows}
        physical = {name: physical_of(sensors) for name, sensors in rows}
        if physical != self.physical:
            self.physical = physical
            self.physical_version += 1
        table = {name: ranges_of(sensors) for name, sensors in rows}
        if table == self.table:
            return False
        self.table = table
        self.version += 1
        return True

    def set_type(self, name: str, sensors: Iterable[Mapping[str, Any]] | None) -> None:
        """A change of one type committed here: its sensors' ranges, or None when it was deleted."""
        known = dict(self._sensors)
        if sensors is None:
            known.pop(name, None)
        else:
            known[name] = list(sensors)
        self._sensors = known
        self._replace(list(known.items()), self.source)

    async def load(self) -> bool:
        """Read every live type from the registry; False (table kept, or the fallback on a first failure)
        when the database cannot answer."""
        seen, seen_physical = self.version, self.physical_version
        try:
            async with self.sessions() as session:
                rows = await MachineTypeRepository(session).live()
        except (
            SQLAlchemyError,
            OSError,
        ) as exc:  # the registry is unavailable: keep scoring with what we have
            log.warning("machine_type_ranges_unavailable", error=f"{type(exc).__name__}: {exc}")
            if self.source == "none" and self.fallback is not None:
                self._sensors = dict(self.fallback)
                self._replace(self.fallback, "catalogue")
            return False
        if self.version != seen or self.physical_version != seen_physical:
            return True  # a change committed here meanwhile, maybe after our read: the next refresh has it
        self._sensors = dict(rows)
        if self._replace(rows, "registry"):
            log.info("machine_type_ranges_loaded", types=len(rows), version=self.version)
        return True

    async def run(self) -> None:
        """Refresh forever (a supervised background task)."""
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.load()
