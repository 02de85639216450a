"""`GET /metrics`: Prometheus text exposition of what the data lifecycle and cleansing count (issue #18).
The wider set (HTTP, consumer stages, WebSocket, multi-process aggregation) is issue #20's.

Read at scrape time from the process's own state through a collector made for the request (no global
registry: nothing to reset between apps, nothing kept between scrapes). Needs a viewer's credentials, as
every other read: give Prometheus an API key (`authorization: {credentials: <key>}` in its scrape config)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role

router = APIRouter(tags=["health"], dependencies=[allow(Role.viewer)])


class AppCollector(Collector):
    """This process's counts: cleansing findings per rule, rollup refresh and lifecycle state."""

    def __init__(self, state: object) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        consumer = getattr(self.state, "consumer", None)
        quality = getattr(consumer, "quality", None)
        if quality is not None:
            found = CounterMetricFamily(
                "dtwin_data_quality_findings",
                "Cleansing findings since this process started, per rule (readings for physical_range and "
                "duplicate, events for gap, messages for late and clock_offset)",
                labels=["rule"],
            )
            for rule, n in quality.snapshot().items():
                found.add_metric([rule], n)
            yield found
        lifecycle = getattr(self.state, "lifecycle", None)
        if lifecycle is None:
            return
        s = lifecycle.state
        yield CounterMetricFamily(
            "dtwin_rollup_refreshes", "Rollup refreshes this process ran", value=s.refreshes
        )
        yield CounterMetricFamily(
            "dtwin_lifecycle_failures", "Lifecycle jobs (refresh, maintenance) that failed", value=s.failures
        )
        if s.last_refresh is not None and s.last_refresh.ran:
            yield GaugeMetricFamily(
                "dtwin_rollup_refresh_seconds",
                "Duration of this process's last refresh",
                value=s.last_refresh.seconds,
            )
            yield GaugeMetricFamily(
                "dtwin_rollup_refresh_late_buckets",
                "Late 10-second buckets its last refresh re-aggregated",
                value=s.last_refresh.dirty,
            )
            lag = GaugeMetricFamily(
                "dtwin_rollup_watermark_lag_seconds",
                "How far each rollup level's watermark is behind now (as of this process's last refresh)",
                labels=["level"],
            )
            now = datetime.now(UTC)
            for level, mark in s.last_refresh.watermarks.items():
                lag.add_metric([level], (now - mark).total_seconds())
            yield lag
        archived = CounterMetricFamily(
            "dtwin_archived_rows",
            "Raw readings this process's last maintenance archived and dropped",
            value=sum(a.rows for a in s.last_archived if a.removed),
        )
        yield archived


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """This process's lifecycle and cleansing counters in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(request.app.state))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
