"""Telemetry for tests that run the app on embedded adapters: schema-1 messages onto its in-process bus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from fastapi import FastAPI

from dtwin_devkit.testing import eventually

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


async def report_pump(
    app: FastAPI,
    client: httpx.AsyncClient,
    reported: dict[str, object],
    readings: dict[str, float] | None = None,
    machine: str = "pump-9",
) -> None:
    """One message of a centrifugal pump (site s1, line l1) reporting `reported` settings, now; returns once
    its twin's version moved (the consumer applied it)."""
    before = (await client.get(f"/api/v1/twins/{machine}")).json().get("version", 0)
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "centrifugal_pump",
        "site": "s1",
        "line": "l1",
        "ts": datetime.now(UTC).isoformat(),
        "readings": readings or {"speed_rpm": 2900.0},
        "reported": reported,
    }
    await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=machine.encode())

    async def applied() -> bool:
        r = await client.get(f"/api/v1/twins/{machine}")
        return r.status_code == 200 and r.json()["version"] > before

    await eventually(applied, what="telemetry applied")
