"""Bridge metrics on a Prometheus endpoint. Counters give rates with `rate()`; gauges show what is in
flight and how far the command consumer lags."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from dtwin_pipeline.metrics_endpoint import MetricsEndpoint


class BridgeMetrics(MetricsEndpoint):
    def __init__(self) -> None:
        super().__init__(CollectorRegistry())
        r = self.registry
        self.received = Counter(
            "dtwin_bridge_messages_received", "MQTT messages received", ["kind"], registry=r
        )
        self.forwarded = Counter(
            "dtwin_bridge_messages_forwarded", "Messages produced to Kafka", ["topic"], registry=r
        )
        self.rejected = Counter(
            "dtwin_bridge_messages_rejected", "Messages sent to the DLQ", ["kind"], registry=r
        )
        self.refused = Counter(
            "dtwin_bridge_records_refused",
            "Records Kafka refused for what they are (acknowledged to MQTT, logged)",
            registry=r,
        )
        self.commands = Counter(
            "dtwin_bridge_commands_delivered", "Desired-state messages published to MQTT", registry=r
        )
        self.inflight = Gauge(
            "dtwin_bridge_inflight_messages",
            "MQTT messages produced to Kafka but not yet acknowledged by it",
            registry=r,
        )
        self.command_lag = Gauge(
            "dtwin_bridge_command_lag", "twin.desired messages not yet consumed", registry=r
        )
        self.mqtt_connected = Gauge("dtwin_bridge_mqtt_connected", "1 while connected to MQTT", registry=r)
