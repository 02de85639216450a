"""SharedSettings: the DTWIN_* settings every dtwin process reads (backend, bridge, simulator): services,
Kafka and MQTT, topics, input limits, logging and the embedded simulator. The backend's `Settings`
(dtwin.config) and the pipeline's settings extend it; every default works in embedded mode."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dtwin.contracts.limits import Limits


class SharedSettings(BaseSettings):
    """A `None` service URL means "use the embedded adapter"."""

    model_config = SettingsConfigDict(env_prefix="DTWIN_", env_file=None, extra="ignore")

    # --- services (None -> embedded adapter) ---
    kafka_bootstrap: str | None = Field(default=None, description="Kafka bootstrap servers, host:port[,..]")
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="MQTT broker for bridge and simulator")
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle to verify the broker (mqtts://)")
    mqtt_cert_file: Path | None = Field(default=None, description="Client certificate for mutual TLS")
    mqtt_key_file: Path | None = Field(default=None, description="Client private key for mutual TLS")

    # --- Kafka ---
    topic_telemetry: str = "telemetry.raw"
    topic_dlq: str = "telemetry.dlq"
    topic_desired: str = "twin.desired"
    topic_acks: str = "twin.acks"
    kafka_idempotence: bool = Field(
        default=False, description="True on Apache Kafka; Tansu does not support it"
    )
    kafka_acks: str = "all"
    kafka_linger_ms: int = 5
    kafka_partitions: int = 6

    # --- input limits (contracts/limits.py; the bridge and the consumer apply the same ones) ---
    max_payload_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest telemetry payload")
    max_sensors_per_message: int = Field(default=256, ge=1, description="Readings in one message")
    max_machine_types: int = Field(default=500, ge=1, description="Distinct machine types telemetry may name")
    max_sensors_per_type: int = Field(
        default=128, ge=1, description="Distinct sensor names one machine type may have (more: DLQ)"
    )
    max_reported_keys: int = Field(default=128, ge=1, description="`reported` properties in one message")
    max_reported_per_type: int = Field(
        default=128, ge=1, description="Distinct `reported` property names one machine type may have"
    )
    max_reported_depth: int = Field(default=8, ge=1, le=64, description="Nesting of a reported value")
    max_abs_reading: float = Field(default=1e15, gt=0, description="Readings must be finite and below this")
    max_clock_skew_s: float = Field(
        default=10.0, ge=0, description="Reject telemetry stamped this far ahead of our clock"
    )
    max_age_s: float = Field(default=30 * 86400.0, gt=0, description="Reject telemetry older than this")
    dlq_payload_bytes: int = Field(
        default=8 * 1024,
        ge=0,
        le=256 * 1024,
        description="Payload bytes a dead letter keeps (+ size, sha256)",
    )

    # --- embedded simulator (demo: a feeder found through the `dtwin.feeders` entry points) ---
    simulator_machines: int = Field(
        default=0, description="Machines simulated in-process (embedded bus only)"
    )
    simulator_rate_hz: float | None = Field(
        default=None, gt=0, description="In-process simulator rate (default 1 Hz, or the scenario's)"
    )
    simulator_seed: int | None = Field(default=None, description="Default 42, or the scenario's")
    simulator_scenario: Path | None = Field(
        default=None,
        description="Scenario YAML for the in-process simulator (fleet, sites, faults); replaces "
        "simulator_machines",
    )

    log_json: bool = Field(
        default_factory=lambda data: data.get("kafka_bootstrap") is not None,
        description="JSON lines (one object per event); default: JSON in a real deployment (Kafka "
        "configured), readable text in the embedded demo",
    )
    log_level: str = "info"

    # --- tracing (kit/tracing.py; off unless an endpoint is set) ---
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector to send traces to (e.g. http://otel-collector:4318); unset: no "
        "tracing",
    )

    @field_validator("otlp_endpoint", mode="before")
    @classmethod
    def _empty_endpoint_is_none(cls, value: object) -> object:
        return None if value == "" else value

    trace_sample_ratio: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Share of messages the bridge starts a trace for (a device's sampled traceparent is "
        "always followed)",
    )

    @field_validator(
        "kafka_bootstrap",
        "mqtt_ca_file",
        "mqtt_cert_file",
        "mqtt_key_file",
        "simulator_rate_hz",
        "simulator_seed",
        "simulator_scenario",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def limits(self) -> Limits:
        """The input limits these settings set (one object handed to the bridge, consumer and scorer)."""
        return Limits(
            max_payload_bytes=self.max_payload_bytes,
            max_machine_types=self.max_machine_types,
            max_sensors_per_message=self.max_sensors_per_message,
            max_sensors_per_type=self.max_sensors_per_type,
            max_reported_keys=self.max_reported_keys,
            max_reported_per_type=self.max_reported_per_type,
            max_reported_depth=self.max_reported_depth,
            max_abs_reading=self.max_abs_reading,
            max_future_skew_s=self.max_clock_skew_s,
            max_age_s=self.max_age_s,
            dlq_payload_bytes=self.dlq_payload_bytes,
        )

    @property
    def embedded_bus(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def embedded_simulator(self) -> bool:
        """Whether a simulator should feed this process's in-process bus (`dtwin demo`)."""
        return self.simulator_machines > 0 or self.simulator_scenario is not None
