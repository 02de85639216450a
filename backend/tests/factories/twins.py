"""Twin-store inputs for tests that drive `TwinStore.apply` directly."""

from __future__ import annotations

from datetime import datetime

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc


def twin_update(
    machine_id: str,
    *,
    at: datetime,
    readings: dict[str, float],
    machine_type: str = "pump",
    site: str | None = "s1",
    line: str | None = "l1",
) -> TwinUpdate:
    """One machine's state in one consumer batch: these readings at `at`, good quality."""
    return TwinUpdate(
        id=machine_id,
        machine_type=machine_type,
        site=site,
        line=line,
        ts=iso_utc(at),
        quality="good",
        readings=readings,
    )
