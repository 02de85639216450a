"""The energy API over the embedded app (SQLite, in-process bus): tariffs, 422s naming the field, and
consumption and cost of a meter with a counter reset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FLAT: dict[str, Any] = {
    "name": "fleet default",
    "currency": "EUR",
    "versions": [{"valid_from": "2026-01-01", "kind": "flat", "price_per_kwh": 0.2}],
}


def counter(i: int) -> dict[str, float]:
    """0.5 kWh per reading from 100; reset to 0 after reading 59."""
    return {"energy_kwh": 100 + 0.5 * i if i < 60 else 0.5 * (i - 59)}


async def test_tariffs_create_list_replace(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/tariffs", json=FLAT)
    assert r.status_code == 201, r.text
    tariff = r.json()
    assert tariff["site"] is None and tariff["version"] == 1 and r.headers["etag"] == '"1"'
    again = await client.post("/api/v1/tariffs", json=FLAT)
    assert again.status_code == 409
    body = {**FLAT, "versions": [*FLAT["versions"]]}
    body["versions"][0] = {**body["versions"][0], "valid_to": "2027-01-01"}
    body["versions"].append({"valid_from": "2027-01-01", "kind": "flat", "price_per_kwh": 0.25})
    stale = await client.put(f"/api/v1/tariffs/{tariff['id']}", json=body, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    put = await client.put(f"/api/v1/tariffs/{tariff['id']}", json=body, headers={"If-Match": '"1"'})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2 and len(put.json()["versions"]) == 2
    listed = (await client.get("/api/v1/tariffs")).json()["items"]
    assert [t["id"] for t in listed] == [tariff["id"]]
    assert (await client.get("/api/v1/tariffs/999")).status_code == 404


async def test_overlapping_bands_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    bands = [
        {"days": "all", "start": "00:00", "end": "12:00", "price": 0.1},
        {"days": "weekend", "start": "08:00", "end": "24:00", "price": 0.2},
    ]
    body = {
        "name": "tou",
        "site": "plant-a",
        "currency": "EUR",
        "versions": [
            {
                "valid_from": "2026-01-01",
                "kind": "tou",
                "seasons": [{"name": "year", "from": "01-01", "to": "12-31", "bands": bands}],
            }
        ],
    }
    r = await client.post("/api/v1/tariffs", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    err = r.json()["errors"][0]
    assert err["loc"] == ["body", "versions", 0, "seasons", 0, "bands"]
    assert "band 1: overlaps band 0 on sat at 08:00" in err["msg"]


async def test_meter_consumption_and_cost_across_a_reset(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/tariffs", json=FLAT)).status_code == 201
    await factories.feed(app, "em-0001", 120, t0=T0, readings=counter, machine_type="energy_meter")
    params = {
        "scope": "meter",
        "id": "em-0001",
        "bucket": "hour",
        "from": "2026-11-23T10:00:00Z",
        "to": "2026-11-23T11:00:00Z",
    }

    async def answered() -> dict[str, Any]:
        r = await client.get("/api/v1/energy/consumption", params=params)
        body: dict[str, Any] = r.json()
        return body if r.status_code == 200 and body["total_kwh"] > 59 else {}

    body = await eventually(answered, what="consumption")
    assert body["total_kwh"] == 59.5  # 59 steps of 0.5, the reset step counts 0.5, 59 more steps
    assert body["total_cost"] == 11.9 and body["currency"] == "EUR"
    assert [i["start"] for i in body["items"]] == ["2026-11-23T10:00:00Z"]
    assert body["flags"]["resets"] == 1 and not body["empty"]
    day = await client.get("/api/v1/energy/consumption", params={**params, "bucket": "month"})
    assert day.json()["total_kwh"] == 59.5 and day.json()["items"][0]["start"] == "2026-11-01T00:00:00Z"


async def test_no_data_answers_empty_never_500(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/energy/consumption", params={"scope": "site", "id": "nowhere"})
    assert r.status_code == 200 and r.json()["empty"] and "no energy meters" in r.json()["note"]
    peaks = await client.get(
        "/api/v1/energy/peaks", params={"site": "nowhere", "month": "2026-03", "months": 3}
    )
    assert peaks.status_code == 200 and peaks.json()["empty"]
    assert [m["month"] for m in peaks.json()["items"]] == ["2026-01", "2026-02", "2026-03"]
    heat = await client.get("/api/v1/energy/heatmap", params={"site": "nowhere"})
    assert heat.status_code == 200 and heat.json()["empty"] and len(heat.json()["kwh"]) == 7
    bad = await client.get(
        "/api/v1/energy/consumption", params={"scope": "line", "id": "l1", "bucket": "minute"}
    )
    assert bad.status_code == 422
    missing = await client.get("/api/v1/energy/consumption", params={"scope": "meter", "id": "nope"})
    assert missing.status_code == 404
