"""The screenshots' meter history (dtwin_devkit.seed_history, dev only) written under a live meter of the
embedded app: weeks of 5-minute `energy_kwh` readings that rise into the first live one without a reset, with
a weekday shift profile the energy room sees, enough for the meter's forecast; a second run adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.readings.service import sensor_history
from dtwin_devkit.seed_history import Anchor, history, seed
from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, mid-shift
KWH0 = 200_000.0
KW = 180.0  # the live meter's rate: 0.05 kWh a second


def register(i: int) -> dict[str, float]:
    return {"energy_kwh": KWH0 + KW * i / 3600}


async def stored(app: FastAPI, machine: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    async with app.state.adapters.sessions() as session:
        rows = await sensor_history(session, [machine], "energy_kwh", start, end, 100_000)
    return [(ts, v) for _, ts, v in rows]


async def test_history_rises_into_the_live_register(
    app: FastAPI, app_settings: Settings, client: httpx.AsyncClient
) -> None:
    await factories.feed(
        app, "em-0001", 120, t0=T0, readings=register, machine_type="energy_meter", site="p1"
    )

    async def live() -> bool:
        return len(await stored(app, "em-0001", T0, T0 + timedelta(minutes=5))) == 120

    await eventually(live, what="the live readings")
    seeded = await seed(app_settings.database_url, days=28.5, machines=None, interval_s=300, tz="UTC", seed=1)
    assert [(s.machine_id, s.rows, s.scaled) for s in seeded] == [("em-0001", int(28.5 * 288), 1.0)]

    rows = await stored(app, "em-0001", T0 - timedelta(days=40), T0 + timedelta(hours=1))
    values = [v for _, v in rows]
    assert all(b >= a for a, b in pairwise(values))  # no reset anywhere
    history_rows = [(ts, v) for ts, v in rows if ts < T0]
    assert len(history_rows) == 8208 and history_rows[-1][0] == T0 - timedelta(minutes=5)
    assert history_rows[0][0] == T0 - timedelta(minutes=5) - 8207 * timedelta(minutes=5)
    # the last five minutes before the live register at the live rate
    assert abs(history_rows[-1][1] - (KWH0 - KW * 5 / 60)) < 1e-3

    params: dict[str, Any] = {
        "scope": "meter",
        "id": "em-0001",
        "bucket": "hour",
        "from": (T0 - timedelta(days=28)).isoformat(),
        "to": T0.isoformat(),
    }
    got = (await client.get("/api/v1/energy/consumption", params=params)).json()
    assert got["flags"] == {"resets": 0, "rollovers": 0, "replacements": 0, "interpolated": 0}
    kwh = {i["start"]: i["kwh"] for i in got["items"]}
    assert len(kwh) == 28 * 24 and None not in kwh.values()
    # Friday 20 Nov: mid-shift at full load, the night at base load (0.3 of it, +-noise)
    day, night = kwh["2026-11-20T10:00:00Z"], kwh["2026-11-20T02:00:00Z"]
    assert 140 < day < 220 and 40 < night < 70

    forecast = (await client.get("/api/v1/energy/forecast", params={"meter": "em-0001", "hours": 24})).json()
    assert len(forecast["items"]) == 24 and forecast["fitted_on"]["points"] >= 28 * 24 - 1

    again = await seed(app_settings.database_url, days=28.5, machines=None, interval_s=300, tz="UTC", seed=1)
    assert again == []


def test_a_register_too_low_for_the_load_gets_a_smaller_one() -> None:
    anchor = Anchor("em-0002", T0, kwh=500.0, kw=KW, span=timedelta(minutes=2))
    rows, seeded = history(anchor, days=7, interval_s=300, tz="Europe/Berlin", rng=np.random.default_rng(3))
    values = [v for *_, v, _ in rows]
    assert seeded.scaled < 1 and values[0] >= 0
    assert all(b >= a for a, b in pairwise(values)) and values[-1] < 500.0
