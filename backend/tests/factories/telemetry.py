"""Telemetry for tests that run the app on embedded adapters: schema-1 messages onto its in-process bus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import orjson
from fastapi import FastAPI

Readings = Callable[[int], dict[str, float]]


async def feed(
    app: FastAPI,
    machine: str,
    n: int,
    *,
    t0: datetime,
    readings: Readings,
    machine_type: str = "conveyor",
    step: timedelta = timedelta(seconds=1),
    site: str | None = None,
) -> None:
    """`n` messages of one machine, `step` (one second) apart from `t0`; message i carries `readings(i)`
    (and the machine's `site` when given)."""
    bus = app.state.adapters.bus
    for i in range(n):
        body = {
            "schema": 1,
            "machine_id": machine,
            "machine_type": machine_type,
            "ts": (t0 + i * step).isoformat(),
            "readings": readings(i),
            **({"site": site} if site else {}),
        }
        await bus.produce("telemetry.raw", orjson.dumps(body), key=machine.encode())
