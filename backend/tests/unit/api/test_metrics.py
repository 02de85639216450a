"""GET /metrics: the cleansing findings and the lifecycle's state in the Prometheus text format, for a viewer's
credentials only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from dtwin_devkit.testing import eventually

from ...factories.telemetry import feed

PRESS = {
    "sensors": [{"name": "pressure_bar", "unit": "bar", "lo": 0, "hi": 100, "phys_lo": -1, "phys_hi": 400}]
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_what_cleansing_found(
    app: FastAPI, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    assert (await client.put("/api/v1/machine-types/press-m", json=PRESS)).status_code == 201
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    await feed(
        app,
        "press-m-1",
        5,
        t0=t0,
        machine_type="press-m",
        readings=lambda i: {"pressure_bar": 900.0 if i else 1.0},
    )

    async def counted() -> bool:
        return bool(app.state.consumer.quality.totals["physical_range"] == 4)

    await eventually(counted, what="the four impossible readings found")
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    found = samples(r.text)
    assert found[("dtwin_data_quality_findings_total", (("rule", "physical_range"),))] == 4.0
    assert ("dtwin_lifecycle_failures_total", ()) in found
    assert (await anon_client.get("/metrics")).status_code == 401
