"""The screenshots' setpoint history (dtwin_devkit.seed_settings_history, dev only) written before a live pump
of the embedded app: the demo simulator's pump commanded through the device protocol, its readings and
`settings` entries stored, so the dry run answers from the pump's own history; a second run adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.readings.service import sensor_history
from dtwin_devkit.seed_settings_history import seed
from dtwin_devkit.testing import eventually

PUMP = "pump-0001"  # the first pump of `dtwin demo`'s simulator (50 machines, seed 42)


async def live(app: FastAPI, t0: datetime, n: int) -> None:
    for i in range(n):
        body = {
            "schema": 1,
            "machine_id": PUMP,
            "machine_type": "centrifugal_pump",
            "site": "site-1",
            "line": "line-1",
            "ts": (t0 + timedelta(seconds=i)).isoformat(),
            "readings": {"speed_rpm": 2950.0, "flow_m3_h": 120.0, "temperature_c": 60.0},
            "reported": {"mode": "on", "speed_setpoint_rpm": 2950},
        }
        await app.state.adapters.bus.produce("telemetry.raw", orjson.dumps(body), key=PUMP.encode())


async def steady_mean(app: FastAPI, command: datetime) -> float:
    """The mean speed over the 10 minutes after the pump's settle_s (120 s) following a command."""
    start = command + timedelta(seconds=120)
    async with app.state.adapters.sessions() as session:
        rows = await sensor_history(session, [PUMP], "speed_rpm", start, start + timedelta(minutes=10), 1000)
    assert len(rows) == 600
    return sum(v for _, _, v in rows) / len(rows)


@pytest.mark.slow
async def test_the_dry_run_answers_from_the_seeded_history(
    app: FastAPI, app_settings: Settings, client: httpx.AsyncClient
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    await live(app, t0, 20)

    async def stored() -> bool:
        async with app.state.adapters.sessions() as session:
            rows = await sensor_history(session, [PUMP], "speed_rpm", t0, t0 + timedelta(minutes=1), 100)
        return len(rows) == 20

    await eventually(stored, what="the live readings")
    [seeded] = await seed(app_settings.database_url, [PUMP], 50, 42)
    # 8 slots of 780 s (settle 120 + steady window 600 + 60) at 1 Hz, 9 sensors; initial settings + 7 commands
    assert (seeded.machine_id, seeded.rows, seeded.changes) == (PUMP, 8 * 780 * 9, 8)
    assert seeded.first == t0 - timedelta(seconds=1) - timedelta(seconds=8 * 780)

    events = (await client.get(f"/api/v1/twins/{PUMP}/events?kind=settings&limit=100")).json()["items"]
    speeds = [
        e["details"]["settings"].get("speed_setpoint_rpm") for e in sorted(events, key=lambda e: e["ts"])
    ]
    assert speeds == [2950, 1725, 2775, 2025, 2475, 1575, 2250, 2950, 2950]  # then the live one
    assert all(e["actor"] == "device" for e in events)

    r = await client.post(
        f"/api/v1/twins/{PUMP}/desired/dry-run",
        json={"speed_setpoint_rpm": 2200},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    effect = r.json()["effect"]
    by_sensor = {s["sensor"]: s for s in effect["sensors"]}
    speed = by_sensor["speed_rpm"]
    assert speed["method"] == "history_regression" and speed["samples"] == 8  # eight steady spans
    assert speed["lower"] < speed["predicted"] < speed["upper"]
    # between the stored steady levels at 2025 rpm (command 3) and 2250 rpm (command 6)
    low, high = [await steady_mean(app, seeded.first + timedelta(seconds=k * 780)) for k in (3, 6)]
    assert low < speed["predicted"] < high
    assert effect["health"]["method"] == "limit_evidence"

    assert await seed(app_settings.database_url, [PUMP], 50, 42) == []  # already seeded
