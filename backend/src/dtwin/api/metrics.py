"""`GET /metrics`: Prometheus text exposition. The instruments counted as things happen are the app's
`Metrics` (core/metrics.py; issue #20); the fleet's state (twins by status) and what the data lifecycle and
cleansing count (issue #18) are read at scrape time from the process's own state through a collector made
for the request (no global registry: nothing to reset between apps, nothing kept between scrapes). Needs a
viewer's credentials, as every other read: give Prometheus an API key (`authorization: {credentials: <key>}`
in its scrape config)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.core.metrics import Metrics, multiprocess
from dtwin.errors import problem_responses
from dtwin.notifications.repository import OutboxRepository

log = structlog.get_logger(__name__)
OUTBOX_TIMEOUT_S = 2.0

router = APIRouter(tags=["health"], dependencies=[allow(Role.viewer)])


class AppCollector(Collector):
    """This process's counts: cleansing findings per rule, rollup refresh and lifecycle state."""

    def __init__(
        self, state: object, statuses: dict[str, int] | None = None, outbox: dict[str, int] | None = None
    ) -> None:
        self.state = state
        self.statuses = statuses
        self.outbox = outbox

    def collect(self) -> Iterator[Metric]:
        if self.statuses is not None:
            twins = GaugeMetricFamily("dtwin_twins", "Twins by status, now", labels=["status"])
            for status, n in sorted(self.statuses.items()):
                twins.add_metric([status], n)
            yield twins
        if self.outbox is not None:
            depth = GaugeMetricFamily(
                "dtwin_notification_outbox",
                "Notifications waiting to be sent (pending, sending) or given up (dead), now",
                labels=["status"],
            )
            for status in ("pending", "sending", "dead"):
                depth.add_metric([status], self.outbox.get(status, 0))
            yield depth
        hub = getattr(getattr(self.state, "services", None), "hub", None)
        if hub is not None:  # this process's connections (each worker serves its own)
            clients = list(hub.clients)
            yield GaugeMetricFamily("dtwin_ws_clients", "Open WebSocket connections", value=len(clients))
            yield GaugeMetricFamily(
                "dtwin_ws_subscriptions",
                "Subscriptions of the open WebSocket connections",
                value=sum(len(c.subs) for c in clients),
            )
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
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        **problem_responses(401, 403, 429, 503),
    },
)
async def metrics(request: Request) -> Response:
    """The backend's metrics in the Prometheus text format: HTTP, the consumer and its stages, live updates,
    analytics and alarms, rate limits (summed over the workers when PROMETHEUS_MULTIPROC_DIR is set), and
    the fleet's state read now (twins by status, data quality, the lifecycle). docs/operations.md
    "Metrics" lists every family."""
    state = request.app.state
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(state, await _statuses(state), await _outbox(state)))
    own: Metrics | None = getattr(state, "metrics", None)
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(registry) + (generate_latest(own.registry) if own is not None else b"")
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def _outbox(state: object) -> dict[str, int] | None:
    """Notification outbox rows waiting or dead, now (None when the database does not answer in time)."""
    adapters = getattr(state, "adapters", None)
    if adapters is None:
        return None
    try:
        async with asyncio.timeout(OUTBOX_TIMEOUT_S), adapters.sessions() as session:
            return await OutboxRepository(session).depth()
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        log.warning("metrics_outbox_unavailable", error=f"{type(exc).__name__}: {exc}")
        return None


async def _statuses(state: object) -> dict[str, int] | None:
    """Twins per status (online, stale, offline, ...) from this process's fleet view, now."""
    services = getattr(state, "services", None)
    twins = getattr(services, "twins", None)
    if twins is None:
        return None
    fleet = await twins.fleet()
    return dict(Counter(str(t.get("status")) for t in twins.with_status_many(list(fleet), datetime.now(UTC))))
