"""A process's Prometheus registry served on a port (the bridge's and the simulator's metrics), in
prometheus-client's own HTTP thread."""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry, start_http_server

log = structlog.get_logger(__name__)


class MetricsEndpoint:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._server: object | None = None

    def serve(self, port: int, host: str = "0.0.0.0") -> bool:  # noqa: S104 - scraped by Prometheus
        """Start the endpoint; a port in use is logged, not fatal (the process's work matters more)."""
        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("metrics_port_unavailable", port=port, error=str(exc))
            return False
        log.info("metrics_serving", port=port)
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # type: ignore[attr-defined]
            self._server = None
