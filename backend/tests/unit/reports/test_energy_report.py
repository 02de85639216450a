"""The energy report over the embedded app: a site's meter with a daily load profile and a counter reset;
the report's figures equal the energy API's (consumption, cost, counter flags, peak demand), its forecast vs
actual beats seasonal-naive on a clean daily profile, and the PDF renders (pdftoppm) with its sections."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories
from tests.unit.reports.conftest import needs_poppler
from tests.unit.reports.test_api import pdf_text

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday; the app's plant zone is UTC
DAYS = 4
STEP = timedelta(minutes=10)
N = DAYS * 24 * 6
RESET_AT = 300  # message index where the register is reset to zero
TARIFF: dict[str, Any] = {
    "name": "plant-e",
    "site": "plant-e",
    "currency": "EUR",
    "versions": [{"valid_from": "2026-01-01", "kind": "flat", "price_per_kwh": 0.25}],
}


_RNG = random.Random(7)
NOISE = [_RNG.uniform(-6.0, 6.0) for _ in range(N)]


def power(i: int) -> float:
    """kW over the 10 minutes after message i: a daily profile, 20 kW at night to 60 kW at noon, with
    noise (seeded), which a forecast smooths and seasonal-naive repeats."""
    hour = (i % 144) / 6.0
    return 40.0 - 20.0 * math.cos(2 * math.pi * hour / 24.0) + NOISE[i]


def register() -> list[float]:
    out, total = [], 1000.0
    for i in range(N):
        if i == RESET_AT:
            total = 0.0
        out.append(round(total, 4))
        total += power(i) / 6.0
    return out


@needs_poppler
async def test_energy_report_figures_equal_the_api(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await client.post("/api/v1/tariffs", json=TARIFF)).status_code == 201
    kwh = register()
    await factories.feed(
        app,
        "em-r1",
        N,
        t0=T0,
        step=STEP,
        site="plant-e",
        machine_type="energy_meter",
        readings=lambda i: {"energy_kwh": kwh[i], "power_kw": power(i)},
    )
    span = {"from": T0.isoformat(), "to": (T0 + timedelta(days=DAYS)).isoformat()}
    params = {"scope": "site", "id": "plant-e", "bucket": "day", **span}

    await eventually(lambda: _last_reading(client), timeout=60, what="every message consumed")
    api = (await client.get("/api/v1/energy/consumption", params=params)).json()
    peaks = (
        await client.get("/api/v1/energy/peaks", params={"site": "plant-e", "month": "2026-03", "months": 1})
    ).json()

    r = await client.post(
        "/api/v1/reports/run",
        json={
            "spec": {"name": "energy", "kind": "energy", "scope": "site", "site": "plant-e"},
            "start": span["from"],
            "end": span["to"],
            "email": False,
        },
    )
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "succeeded" and run["has_data"] is True, run
    s = run["summary"]
    assert s["Meters"] == 1
    assert s["Consumption kWh"] == pytest.approx(api["total_kwh"], abs=1e-3)
    assert s["Cost EUR"] == pytest.approx(api["total_cost"], abs=0.01)
    assert s["Counter resets"] == api["flags"]["resets"] == 1
    assert s["Peak demand kW"] == pytest.approx(peaks["items"][0]["peak_kw"], abs=1e-6)
    # the true best quarter-hour: 10 minutes of one interval's power and 5 of its neighbour's
    true = max(
        (2 * power(i) + power(i + 1)) / 3 if i % 3 == 0 else (power(i) + 2 * power(i + 1)) / 3
        for i in range(0, N - 1)
        if i % 3 != 2
    )
    assert s["Peak demand kW"] == pytest.approx(true, rel=0.05)  # (reading times are estimated)
    # the last day forecast from the three before it: a clean daily cycle is forecast well
    assert isinstance(s["Forecast MASE (last day)"], float) and s["Forecast MASE (last day)"] < 1.0, s
    assert s["Actual kWh (last day)"] == pytest.approx(api["items"][-1]["kwh"], abs=1e-3)
    assert s["Forecast kWh (last day)"] == pytest.approx(s["Actual kWh (last day)"], rel=0.15)

    pdf = await client.get(f"/api/v1/reports/runs/{run['id']}.pdf")
    text = pdf_text(pdf.content, tmp_path)
    for heading in ("Energy report: energy", "Consumption per day", "Sites", "Forecast vs actual"):
        assert heading in text, heading
    printed = [line.split()[-1] for line in text.splitlines() if line.strip().startswith("Consumption kWh ")]
    assert printed and float(printed[0]) == pytest.approx(api["total_kwh"], abs=0.01)
    csv_ = (await client.get(f"/api/v1/reports/runs/{run['id']}.csv")).text
    day0 = api["items"][0]
    assert f"2026-03-02 00:00,{day0['kwh']:.2f}" in csv_


async def _last_reading(client: httpx.AsyncClient) -> bool:
    r = await client.get("/api/v1/twins/em-r1")
    return r.status_code == 200 and r.json().get("ts", "").startswith((T0 + (N - 1) * STEP).isoformat()[:19])


async def test_energy_report_without_meters_says_no_data(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/reports/run",
        json={
            "spec": {"name": "e", "kind": "energy", "scope": "site", "site": "nowhere"},
            "start": "2026-03-01T00:00:00Z",
            "end": "2026-03-08T00:00:00Z",
            "email": False,
        },
    )
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "succeeded" and run["has_data"] is False
    assert run["summary"]["Meters"] == 0 and run["summary"]["Consumption kWh"] == 0
