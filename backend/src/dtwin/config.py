"""Settings: one class, read from DTWIN_* environment variables, every default works in embedded mode."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dtwin.contracts.limits import Limits

REPO_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    """Runtime configuration. A `None` service URL means "use the embedded adapter"."""

    model_config = SettingsConfigDict(env_prefix="DTWIN_", env_file=None, extra="ignore")

    # --- services (None -> embedded adapter) ---
    kafka_bootstrap: str | None = Field(default=None, description="Kafka bootstrap servers, host:port[,..]")
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; None = in-process fakeredis"
    )
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'dtwin.db'}",
        description="SQLAlchemy async URL: postgresql+asyncpg://... or sqlite+aiosqlite:///path",
    )
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
    topic_state: str = Field(default="twin.state", description="Compacted topic of twin snapshots (rebuild)")
    state_snapshot_interval_s: float = Field(default=10.0, description="Telemetry-driven snapshots per twin")
    auto_rebuild: bool = Field(default=True, description="Rebuild Redis from durable copies when it is empty")
    rebuild_lookback_days: float = Field(
        default=7.0, description="Newest readings this far back fill the rebuild"
    )

    consumer_group: str = "dtwin-backend"
    kafka_idempotence: bool = Field(
        default=False, description="True on Apache Kafka; Tansu does not support it"
    )
    kafka_acks: str = "all"
    kafka_linger_ms: int = 5
    kafka_partitions: int = 6
    consumer_max_records: int = 5000
    consumer_poll_timeout_ms: int = 200
    consumer_stall_after_s: float = Field(
        default=30.0,
        gt=0,
        description="A batch failing on infrastructure this long marks the consumer stalled (readyz 503)",
    )

    # --- scoring ---
    scoring_enabled: bool = Field(default=True, description="Score every reading in the consumer")
    models_dir: Path = Field(default=REPO_ROOT / "var" / "models", description="Persisted anomaly models")
    training_interval_s: float = Field(default=30.0, description="How often due models are (re)trained")
    machine_types_refresh_s: float = Field(
        default=30.0, gt=0, description="How often the scoring engine re-reads the machine-type registry"
    )
    topic_anomaly_events: str = "anomaly.events"
    topic_decisions: str = "twin.decisions"
    scoring_evict_after_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="Drop a machine's scoring state after this long without telemetry (rebuilt on return)",
    )

    # --- bridge ---

    bridge_client_id: str = Field(default="", description="MQTT client id; default dtwin-bridge-<hostname>")
    bridge_shared_group: str = Field(
        default="bridge", description="MQTT shared-subscription group ('' = none)"
    )
    bridge_metrics_port: int | None = Field(default=9108, description="Prometheus metrics port (None = off)")

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

    # --- Redis ---
    redis_prefix: str = "dtwin"

    # --- twins ---
    twin_expected_interval_s: float = Field(
        default=1.0,
        description="Expected telemetry interval unless a twin's attributes.expected_interval_s says",
    )

    # --- HTTP ---
    host: str = "127.0.0.1"
    port: int = 8000
    frontend_dist: Path | None = Field(default=REPO_ROOT / "frontend" / "dist")
    auto_migrate: bool = Field(default=True, description="Run Alembic migrations at startup")
    ws_queue_size: int = Field(
        default=256, ge=8, description="Messages buffered per WebSocket client before it is dropped"
    )
    ws_heartbeat_s: float = Field(default=15.0, gt=0, description="WebSocket heartbeat period")
    ws_max_lifetime_s: float = Field(
        default=3600.0, gt=0, description="A WebSocket connection is closed (4000) after this long"
    )
    ws_replay_entries: int = Field(
        default=2000,
        ge=10,
        description="Change-stream messages kept in Redis for WebSocket resume (capped stream)",
    )

    # --- embedded simulator (demo) ---
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

    log_json: bool = False
    log_level: str = "info"

    @field_validator(
        "kafka_bootstrap",
        "redis_url",
        "frontend_dist",
        "mqtt_ca_file",
        "mqtt_cert_file",
        "mqtt_key_file",
        "bridge_metrics_port",
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
    def embedded_redis(self) -> bool:
        return self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
