"""The data-quality API over the embedded app (in-process bus, SQLite): physical ranges in the machine-type
registry, then telemetry through the consumer, its findings stored by the flush and answered by
GET /data-quality and GET /twins/{id}/data-quality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dtwin.contracts.catalogue import machine_catalogue
from dtwin_devkit.testing import eventually

from ...factories.telemetry import feed

T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
PRESS: dict[str, Any] = {
    "description": "Test press",
    "sensors": [
        {"name": "pressure_bar", "unit": "bar", "lo": 0, "hi": 100, "phys_lo": -1, "phys_hi": 400},
        {"name": "oil_temperature_c", "unit": "°C", "lo": 20, "hi": 70},
    ],
}


async def test_catalogue_types_carry_their_physical_ranges(client: httpx.AsyncClient) -> None:
    pump = (await client.get("/api/v1/machine-types/centrifugal_pump")).json()
    temperature = next(s for s in pump["sensors"] if s["name"] == "temperature_c")
    expected = machine_catalogue()["centrifugal_pump"].sensor("temperature_c")
    assert (temperature["phys_lo"], temperature["phys_hi"]) == (expected.phys_lo, expected.phys_hi)
    assert temperature["phys_lo"] <= temperature["lo"] and temperature["hi"] <= temperature["phys_hi"]


async def test_physical_ranges_are_stored_and_must_contain_the_operating_range(
    client: httpx.AsyncClient,
) -> None:
    r = await client.put("/api/v1/machine-types/press-ph", json=PRESS)
    assert r.status_code == 201, r.text
    sensors = (await client.get("/api/v1/machine-types/press-ph")).json()["sensors"]
    assert sensors[0]["phys_lo"] == -1 and sensors[0]["phys_hi"] == 400
    assert "phys_lo" not in sensors[1] or sensors[1]["phys_lo"] is None
    narrow = {"sensors": [{"name": "p", "lo": 0, "hi": 100, "phys_hi": 50}]}
    r = await client.put("/api/v1/machine-types/press-ph2", json=narrow)
    assert r.status_code == 422
    assert "phys_hi (50.0) must not be below hi (100.0)" in r.json()["detail"]


async def test_the_consumers_findings_are_answered_per_machine_and_for_the_fleet(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.put("/api/v1/machine-types/press-dq", json=PRESS)).status_code == 201

    def readings(i: int) -> dict[str, float]:
        return {"pressure_bar": 5000.0 if i == 3 else 50.0, "oil_temperature_c": 40.0}

    await feed(app, "press-dq-1", 10, t0=T0, readings=readings, machine_type="press-dq")
    await feed(
        app, "press-dq-1", 1, t0=T0 + timedelta(seconds=120), readings=readings, machine_type="press-dq"
    )
    consumer = app.state.consumer

    async def flushed() -> bool:
        done = consumer.quality.totals["gap"] == 1
        return done and await consumer.quality.flush()

    await eventually(flushed, what="the gap found and stored")

    url = "/api/v1/twins/press-dq-1/data-quality"
    one = (await client.get(url, params={"from": T0.isoformat()})).json()
    # the embedded bus stamps no receive time: the consumer's clock, hours after these device timestamps,
    # so every message counts under clock_offset and the estimate is those hours
    assert one["counts"] == {"physical_range": 1, "gap": 1, "duplicate": None, "late": 0, "clock_offset": 11}
    assert [(g["start"], g["seconds"]) for g in one["gaps"]] == [
        ((T0 + timedelta(seconds=9)).isoformat().replace("+00:00", "Z"), 111.0)
    ]
    assert one["gap_count"] == 1 and one["clock_offset"]["samples"] >= 1
    assert one["clock_offset"]["offset_s"] > 3600 and one["clock_offset"]["beyond_threshold"] is True
    assert one["rules"]["gap_floor_s"] == 10.0 and one["rules"]["clock_correction"] is False

    fleet = (await client.get("/api/v1/data-quality", params={"from": T0.isoformat()})).json()
    assert fleet["counts"]["physical_range"] == 1 and fleet["counts"]["gap"] == 1
    assert fleet["top_machines"][0] == {
        "machine_id": "press-dq-1",
        "total": 13,
        "counts": {"physical_range": 1, "gap": 1, "duplicate": 0, "late": 0, "clock_offset": 11},
    }
    assert fleet["gaps"] == 1 and fleet["machines_affected"] == 1
    assert [o["machine_id"] for o in fleet["clock_offsets"]] == ["press-dq-1"]

    ready = (await client.get("/readyz")).json()
    assert ready["consumer"]["data_quality"]["physical_range"] == 1


async def test_unknown_machine_is_404_and_a_window_over_a_year_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/twins/nobody/data-quality")).status_code == 404
    r = await client.get(
        "/api/v1/data-quality", params={"from": "2020-01-01T00:00:00Z", "to": "2022-01-01T00:00:00Z"}
    )
    assert r.status_code == 422 and "366 days" in r.json()["detail"]


@pytest.mark.parametrize("top", [0, 101])
async def test_top_is_bounded(client: httpx.AsyncClient, top: int) -> None:
    assert (await client.get("/api/v1/data-quality", params={"top": top})).status_code == 422
