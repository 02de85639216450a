"""`dtwin demo` seeds a hi rule on every catalogue sensor and an email route to the embedded mail sink,
once: a second start (or an operator's own rules) adds nothing."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.contracts.catalogue import machine_catalogue
from dtwin.main import create_app

from ...factories.auth import as_admin


async def test_the_demo_seeds_rules_and_a_route_once(embedded_settings: Settings, tmp_path: Path) -> None:
    settings = embedded_settings.model_copy(
        update={"demo_seed": True, "data_dir": tmp_path, "simulator_machines": 0}
    )
    sensors = sum(len(t.sensors) for t in machine_catalogue().values())
    for _ in range(2):
        app: FastAPI = create_app(settings)
        async with app.router.lifespan_context(app), await as_admin(app) as c:
            rules = (await c.get("/api/v1/alarm-rules")).json()
            routes = (await c.get("/api/v1/notifications/routes")).json()["items"]
        assert rules["count"] == sensors
        assert {r["kind"] for r in rules["items"]} == {"hi"}
        assert [(r["name"], r["channel"], r["min_priority"]) for r in routes] == [
            ("demo-operators", "email", "high")
        ]
