"""Analytics endpoints over the embedded adapters: scored health with explanation, anomaly and decision
history, correlations, 404 for unknown twins."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin

T0 = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
async def client(embedded_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(embedded_settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as c,
    ):
        yield app, c


async def test_health_anomalies_decisions_correlations(client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = client
    bus = app.state.adapters.bus
    for i in range(150):  # a pump whose temperature leaves its operating range at the end
        temp = 60.0 + (i % 3) * 0.2 + (60.0 if i >= 140 else 0.0)
        body = {
            "schema": 1,
            "machine_id": "pump-77",
            "machine_type": "centrifugal_pump",
            "ts": (T0 + timedelta(seconds=i)).isoformat(),
            "readings": {
                "temperature_c": temp,
                "flow_m3_h": 100.0 + i % 5,
                "current_a": 40.0 + (i % 7) * 0.3,
            },
        }
        await bus.produce("telemetry.raw", orjson.dumps(body), key=b"pump-77")

    last_minute = (T0 + timedelta(seconds=149)).strftime("%Y-%m-%dT%H:%M")

    async def scored() -> dict[str, object]:
        r = await c.get("/api/v1/twins/pump-77/health")
        h = r.json() if r.status_code == 200 else {}
        return h if h.get("scored") and str(h.get("ts", "")).startswith(last_minute) else {}

    h = await eventually(scored, what="machine scored")
    assert 0 <= h["health"] <= 100 and 0 <= h["anomaly_score"] <= 1
    assert h["is_anomaly"] is True
    assert h["explanation"][0]["sensor"] == "temperature_c"
    events = (await c.get("/api/v1/twins/pump-77/anomalies", params={"from": T0.isoformat()})).json()["items"]
    assert any(e["kind"] == "start" and e["explanation"][0]["sensor"] == "temperature_c" for e in events)
    decisions = (await c.get("/api/v1/twins/pump-77/decisions", params={"from": T0.isoformat()})).json()
    assert decisions["machine_id"] == "pump-77" and isinstance(decisions["items"], list)
    corr = (await c.get("/api/v1/twins/pump-77/correlations")).json()
    assert set(corr["sensors"]) == {"temperature_c", "flow_m3_h", "current_a"}
    n = len(corr["sensors"])
    assert len(corr["matrix"]) == n and all(len(row) == n for row in corr["matrix"])
    assert all(abs(corr["matrix"][i][i] - 1.0) < 1e-6 for i in range(n))

    for path in ("health", "anomalies", "decisions", "correlations"):
        r = await c.get(f"/api/v1/twins/nope/{path}")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    bad = await c.get(
        "/api/v1/twins/pump-77/anomalies",
        params={"from": "2026-11-23T12:00:00Z", "to": "2026-11-23T11:00:00Z"},
    )
    assert bad.status_code == 422
