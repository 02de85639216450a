"""The forecast API over the embedded app (SQLite, in-process bus): a sensor's next hour, a meter's next
day, too little history (200, no items, a note), unknown twins (404) and bad parameters (422)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def _stored(client: httpx.AsyncClient, machine: str, n: int) -> bool:
    r = await client.get(f"/api/v1/twins/{machine}/readings", params={"limit": 10_000})
    return r.status_code == 200 and len(r.json()["items"]) >= n


async def test_sensor_forecast_is_the_next_hour_with_an_interval(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await factories.feed(
        app, "conv-f1", 180, t0=T0, step=MINUTE, readings=lambda i: {"load_pct": 50 + 10 * math.sin(i / 9)}
    )
    await eventually(lambda: _stored(client, "conv-f1", 180), what="readings stored")
    r = await client.get("/api/v1/twins/conv-f1/forecast", params={"sensor": "load_pct"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["machine_id"] == "conv-f1" and body["resolution"] == "1m" and body["interval"] == 0.9
    assert body["fitted_on"]["points"] == 179  # the newest minute is not whole yet
    items = body["items"]
    assert len(items) == 60 and items[0]["ts"].startswith("2026-11-23T02:59:00")
    assert all(i["lo"] <= i["mean"] <= i["hi"] for i in items)
    again = await client.get("/api/v1/twins/conv-f1/forecast", params={"sensor": "load_pct"})
    assert again.json() == body  # from the cache: same last bucket


async def test_too_little_history_is_200_with_a_note(app: FastAPI, client: httpx.AsyncClient) -> None:
    await factories.feed(app, "conv-f2", 5, t0=T0, step=MINUTE, readings=lambda i: {"load_pct": float(i)})
    await eventually(lambda: _stored(client, "conv-f2", 5), what="readings stored")
    r = await client.get("/api/v1/twins/conv-f2/forecast", params={"sensor": "load_pct", "horizon": 10})
    assert r.status_code == 200
    assert r.json()["items"] == [] and "not enough history" in r.json()["note"]
    other = await client.get("/api/v1/twins/conv-f2/forecast", params={"sensor": "no_such"})
    assert (
        other.status_code == 200
        and other.json()["items"] == []
        and "no 'no_such' readings" in other.json()["note"]
    )


async def test_meter_forecast_is_hourly_kwh(app: FastAPI, client: httpx.AsyncClient) -> None:
    step = timedelta(minutes=10)

    def counter(i: int) -> dict[str, float]:  # 6 + 4 sin(hour) kWh per hour, in 10-minute slices
        return {"energy_kwh": 1000 + sum((6 + 4 * math.sin(k / 6 / 3)) / 6 for k in range(i))}

    await factories.feed(
        app, "em-f1", 6 * 30, t0=T0, step=step, readings=counter, machine_type="energy_meter"
    )
    await eventually(lambda: _stored(client, "em-f1", 180), what="readings stored")
    r = await client.get("/api/v1/energy/forecast", params={"meter": "em-f1", "hours": 12})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meter"] == "em-f1" and body["unit"] == "kWh" and body["resolution"] == "1h"
    assert body["fitted_on"]["points"] >= 24 and len(body["items"]) == 12
    assert body["method"] != "none"
    assert all(0 <= i["lo"] <= i["mean"] <= i["hi"] for i in body["items"])


async def test_unknown_twin_is_404_and_bad_parameters_422(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/twins/nope/forecast", params={"sensor": "load_pct"})
    assert r.status_code == 404
    assert (await client.get("/api/v1/energy/forecast", params={"meter": "nope"})).status_code == 404
    bad: list[dict[str, str | int]] = [
        {},
        {"sensor": "Bad-Name"},
        {"sensor": "load_pct", "horizon": 0},
        {"sensor": "x", "horizon": 999},
    ]
    for params in bad:
        assert (await client.get("/api/v1/twins/m-1/forecast", params=params)).status_code == 422, params
    assert (await client.get("/api/v1/energy/forecast", params={"meter": "m", "hours": 0})).status_code == 422
