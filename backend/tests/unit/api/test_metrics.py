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


async def test_metrics_count_requests_batches_stages_and_dead_letters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Issue #20: HTTP by route template (never the machine id), the consumer's batches with one stage
    observation per batch and stage, readings stored, dead letters by reason, lag, twins by status."""
    t0 = datetime.now(UTC) - timedelta(seconds=30)
    await feed(app, "mx-1", 20, t0=t0, readings=lambda i: {"speed_rpm": 100.0 + i})
    await app.state.adapters.bus.produce("telemetry.raw", b"{not json", key=b"mx-2")

    async def consumed() -> bool:
        s = app.state.consumer.state
        return bool(s.messages >= 21 and s.rejected >= 1)

    await eventually(consumed, what="21 messages consumed, one dead-lettered")
    for _ in range(3):
        assert (await client.get("/api/v1/twins/mx-1")).status_code == 200
    assert (await client.get("/api/v1/twins/nope")).status_code == 404
    assert (await client.get("/no-such-page")).status_code in (401, 404)

    found = samples((await client.get("/metrics")).text)

    def get(name: str, **labels: str) -> float:
        return found.get((name, tuple(sorted(labels.items()))), 0.0)

    route = "/api/v1/twins/{machine_id}"
    assert get("dtwin_http_requests_total", method="GET", route=route, status="200") == 3
    assert get("dtwin_http_requests_total", method="GET", route=route, status="404") == 1
    assert get("dtwin_http_request_duration_seconds_count", method="GET", route=route) == 4
    assert not any("mx-1" in str(labels) for _, labels in found)  # no machine ids in labels
    batches = get("dtwin_consumer_batches_total")
    assert batches >= 1
    for stage in (
        "validate",
        "names",
        "quality",
        "copy",
        "redis",
        "registry",
        "snapshot",
        "changelog",
        "scoring",
        "alarms",
        "flush",
    ):
        assert get("dtwin_consumer_stage_seconds_count", stage=stage) == batches, stage
    assert get("dtwin_consumer_batch_messages_count") == batches
    assert get("dtwin_consumer_batch_messages_sum") == get("dtwin_consumer_messages_total") >= 21
    assert get("dtwin_readings_stored_total") == 20
    assert get("dtwin_dead_letters_total", reason="json") == 1  # the reason: the rejection's code
    assert get("dtwin_consumer_lag", partition="0") >= 0
    assert sum(v for key, v in found.items() if key[0] == "dtwin_twins") >= 1
    assert ("dtwin_ws_clients", ()) in found
    assert get("dtwin_notification_outbox", status="pending") >= 0
    assert ("dtwin_notification_outbox", (("status", "dead"),)) in found
