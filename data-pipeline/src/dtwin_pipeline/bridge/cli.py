"""`dtwin bridge`: the MQTT <-> Kafka bridge on the command line."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer


def bridge(
    mqtt_url: Annotated[str | None, typer.Option(help="Default DTWIN_MQTT_URL")] = None,
    kafka_bootstrap: Annotated[str | None, typer.Option(help="Default DTWIN_KAFKA_BOOTSTRAP")] = None,
) -> None:
    """Move MQTT telemetry into Kafka (telemetry.raw), rejects into telemetry.dlq."""
    from dtwin.config import get_settings
    from dtwin.logging import configure_logging
    from dtwin_pipeline.bridge.service import Bridge, BridgeConfig

    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    bootstrap = kafka_bootstrap or settings.kafka_bootstrap
    if not bootstrap:
        raise typer.BadParameter(
            "set DTWIN_KAFKA_BOOTSTRAP or --kafka-bootstrap", param_hint="--kafka-bootstrap"
        )
    cfg = BridgeConfig(
        mqtt_url=mqtt_url or settings.mqtt_url,
        mqtt_username=settings.mqtt_username,
        mqtt_password=settings.mqtt_password,
        kafka_bootstrap=bootstrap,
        kafka_acks=settings.kafka_acks,
        kafka_idempotence=settings.kafka_idempotence,
        kafka_linger_ms=settings.kafka_linger_ms,
        topic_telemetry=settings.topic_telemetry,
        topic_dlq=settings.topic_dlq,
        partitions=settings.kafka_partitions,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Bridge(cfg).run())
