"""HTTP request rate, latency and status by route template (issue #20): a pure ASGI middleware around the
whole app, counting into app.state.metrics (core/metrics.py). The label is the matched route's template
(`/api/v1/twins/{machine_id}`), never the path: a path names machines. Requests no route matched count as
`unmatched`, the dashboard's static files as `/*`. WebSocket connections are counted by the realtime room."""

from __future__ import annotations

import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dtwin.core.http import route_template
from dtwin.core.metrics import Metrics


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return "unmatched"
    if isinstance(route, Mount):
        return f"{route.path}/*"
    return route_template(scope)


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics: Metrics | None = getattr(getattr(scope.get("app"), "state", None), "metrics", None)
        if scope["type"] != "http" or metrics is None:
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500  # unless a response starts: an exception the error handlers answer with 500
        answered: float | None = None

        async def timed(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answered = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            route, method = route_label(scope), str(scope["method"])
            metrics.http_requests.labels(method, route, str(status)).inc()
            metrics.http_seconds.labels(method, route).observe((answered or time.perf_counter()) - t0)
