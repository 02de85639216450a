"""Operating ranges for the scoring engine: the registry's (machine type, sensor) -> (lo, hi), held in memory
so the consumer's hot path is a dict lookup, never a query."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
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


class OperatingRanges:
    """Per machine type and sensor the operating range, for `ScoringEngine(limits=...)` (it is the callable,
    and its `version` tells the engine to re-read the ranges of the series it knows).

    Loaded from the registry at start and every `refresh_s` after (changes made by other backend processes),
    and changed at once when a change commits in this process (`set_type`). `version` grows only when the
    table changes. If the registry cannot be read, the last table stays; if it never could, `fallback` (the
    machine catalogue's ranges) is used until it can."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        fallback: Table | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.fallback = fallback
        self.refresh_s = refresh_s
        self.table: Table = {}
        self.version = 0
        self.source: Source = "none"

    def __call__(self, machine_type: str, sensor: str) -> Range | None:
        return self.table.get(machine_type, {}).get(sensor)

    def _replace(self, table: Table, source: Source) -> bool:
        self.source = source
        if table == self.table:
            return False
        self.table = table
        self.version += 1
        return True

    def set_type(self, name: str, sensors: Iterable[Mapping[str, Any]] | None) -> None:
        """A change of one type committed here: its sensors' ranges, or None when it was deleted."""
        table = dict(self.table)
        if sensors is None:
            table.pop(name, None)
        else:
            table[name] = ranges_of(sensors)
        self._replace(table, self.source)

    async def load(self) -> bool:
        """Read every live type from the registry; False (table kept, or the fallback on a first failure)
        when the database cannot answer."""
        seen = self.version
        try:
            async with self.sessions() as session:
                rows = await MachineTypeRepository(session).live()
        except (
            SQLAlchemyError,
            OSError,
        ) as exc:  # the registry is unavailable: keep scoring with what we have
            log.warning("machine_type_ranges_unavailable", error=f"{type(exc).__name__}: {exc}")
            if self.source == "none" and self.fallback is not None:
                self._replace(dict(self.fallback), "catalogue")
            return False
        if self.version != seen:
            return True  # a change committed here meanwhile, maybe after our read: the next refresh has it
        if self._replace({name: ranges_of(sensors) for name, sensors in rows}, "registry"):
            log.info("machine_type_ranges_loaded", types=len(rows), version=self.version)
        return True

    async def run(self) -> None:
        """Refresh forever (a supervised background task)."""
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.load()
