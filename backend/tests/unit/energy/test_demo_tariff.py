"""`dtwin demo` seeds a fleet-default time-of-use tariff, once, with bands in the plant's zone: a second start
adds nothing, an operator's own fleet tariff is left alone, and a site's own tariff does not count as one."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.demo import DEMO_TARIFF, demo_tariff
from dtwin.energy.tariffs import CostEngine
from dtwin.main import create_app

from ...factories.auth import as_admin

OWN: dict[str, Any] = {
    "name": "own",
    "currency": "USD",
    "versions": [{"valid_from": "2026-01-01", "kind": "flat", "price_per_kwh": 0.2}],
}


def demo_settings(settings: Settings, tmp_path: Path, seed: bool = True) -> Settings:
    return settings.model_copy(
        update={
            "demo_seed": seed,
            "data_dir": tmp_path,
            "simulator_machines": 0,
            "plant_tz": "Europe/Berlin",
        }
    )


async def tariffs(settings: Settings, post: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The tariffs after a start of the app (having posted `post` first, when given)."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app), await as_admin(app) as c:
        if post is not None:
            assert (await c.post("/api/v1/tariffs", json=post)).status_code == 201
        r = await c.get("/api/v1/tariffs")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


async def test_the_demo_seeds_a_fleet_tariff_once(embedded_settings: Settings, tmp_path: Path) -> None:
    settings = demo_settings(embedded_settings, tmp_path)
    for _ in range(2):
        got = await tariffs(settings)
        assert [(t["name"], t["site"], t["currency"]) for t in got] == [(DEMO_TARIFF, None, "EUR")]
        [version] = got[0]["versions"]
        assert version["kind"] == "tou" and version["valid_to"] is None
        # valid from 1 January of last year: a year of history is priced
        assert date.fromisoformat(version["valid_from"]) == date(
            datetime.now(ZoneInfo("Europe/Berlin")).year - 1, 1, 1
        )


async def test_the_demo_keeps_an_operators_fleet_tariff(embedded_settings: Settings, tmp_path: Path) -> None:
    await tariffs(demo_settings(embedded_settings, tmp_path, seed=False), post=OWN)
    got = await tariffs(demo_settings(embedded_settings, tmp_path))
    assert [(t["name"], t["site"]) for t in got] == [("own", None)]


async def test_a_site_tariff_still_gets_the_demo_fleet_default(
    embedded_settings: Settings, tmp_path: Path
) -> None:
    await tariffs(demo_settings(embedded_settings, tmp_path, seed=False), post={**OWN, "site": "site-1"})
    got = await tariffs(demo_settings(embedded_settings, tmp_path))
    assert sorted((t["name"], t["site"] or "") for t in got) == [(DEMO_TARIFF, ""), ("own", "site-1")]


def test_the_demo_tariff_prices_the_plants_wall_clock() -> None:
    tz = "Europe/Berlin"
    body = demo_tariff(tz, now=datetime(2026, 12, 6, 23, 30, tzinfo=UTC))  # already 7 Dec in Berlin
    assert body.versions[0].valid_from == date(2025, 1, 1)
    engine = CostEngine([v.to_version() for v in body.versions], tz)
    # Monday 7 Dec 2026, Berlin = UTC+1: 07:30 UTC is 08:30 local (peak), 06:30 UTC is 07:30 (shoulder)
    assert engine.price_at(datetime(2026, 12, 7, 7, 30, tzinfo=UTC)) == 0.32
    assert engine.price_at(datetime(2026, 12, 7, 6, 30, tzinfo=UTC)) == 0.22
    assert engine.price_at(datetime(2026, 12, 7, 4, 30, tzinfo=UTC)) == 0.14
    # Saturday 5 Dec at local noon: weekend
    assert engine.price_at(datetime(2026, 12, 5, 11, 0, tzinfo=UTC)) == 0.14
    # before the version: no price
    assert math.isnan(engine.price_at(datetime(2024, 12, 31, 12, 0, tzinfo=UTC)))
