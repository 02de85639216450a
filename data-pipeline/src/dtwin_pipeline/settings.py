"""The pipeline's settings: what every dtwin process shares (dtwin.kit.settings) plus the bridge's own
DTWIN_BRIDGE_* knobs and the device-identity files (DTWIN_MQTT_PASSWORD_FILE, _ACL_FILE,
_DEVICE_CREDENTIALS)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator

from dtwin.kit.settings import SharedSettings


class PipelineSettings(SharedSettings):
    bridge_client_id: str = Field(default="", description="MQTT client id; default dtwin-bridge-<hostname>")
    bridge_shared_group: str = Field(
        default="bridge", description="MQTT shared-subscription group ('' = none)"
    )
    bridge_metrics_port: int | None = Field(default=9108, description="Prometheus metrics port (None = off)")
    bridge_forward_interval_ms: float = Field(
        default=50.0,
        ge=0,
        le=1000,
        description="Under load, the bridge hands what MQTT delivered to Kafka at most once per this "
        "interval (fewer, larger record batches); an idle bridge forwards a message at once",
    )
    simulator_metrics_port: int | None = Field(
        default=None, description="Prometheus metrics port of `dtwin simulate` (None = off)"
    )
    mqtt_password_file: Path = Field(
        default=Path("var/mosquitto/passwd"), description="Mosquitto password_file `dtwin devices` writes"
    )
    mqtt_acl_file: Path = Field(
        default=Path("var/mosquitto/acl"), description="Mosquitto acl_file `dtwin devices` writes"
    )
    mqtt_device_credentials: Path | None = Field(
        default=None,
        description="Simulator only: JSON {machine_id: password}; one MQTT connection per device if set",
    )

    @field_validator("bridge_metrics_port", "simulator_metrics_port", mode="before")
    @classmethod
    def _bridge_empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


@lru_cache
def get_settings() -> PipelineSettings:
    return PipelineSettings()
