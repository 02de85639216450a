"""`dtwin bridge`: the MQTT <-> Kafka bridge on the command line."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from dtwin_pipeline.bridge.service import Bridge


def bridge(
    mqtt_url: Annotated[str | None, typer.Option(help="Default DTWIN_MQTT_URL")] = None,
    kafka_bootstrap: Annotated[str | None, typer.Option(help="Default DTWIN_KAFKA_BOOTSTRAP")] = None,
    instance: Annotated[
        str, typer.Option(help="Suffix of the MQTT client id, to run several bridges on a host")
    ] = "",
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus port (default DTWIN_BRIDGE_METRICS_PORT, 9108; 0 = off)")
    ] = None,
) -> None:
    """MQTT telemetry and acks into Kafka (telemetry.raw, twin.acks; rejects into telemetry.dlq) and Kafka
    twin.desired out to the devices' MQTT topics. SIGTERM/Ctrl-C flush everything in flight first."""
    from dtwin.kit.logging import configure_logging
    from dtwin_pipeline.bridge.service import Bridge, BridgeConfig
    from dtwin_pipeline.mqtt import MqttTarget
    from dtwin_pipeline.settings import get_settings

    s = get_settings()
    configure_logging(json=s.log_json, level=s.log_level)
    bootstrap = kafka_bootstrap or s.kafka_bootstrap
    if not bootstrap:
        raise typer.BadParameter("set DTWIN_KAFKA_BOOTSTRAP", param_hint="--kafka-bootstrap")
    client_id = s.bridge_client_id or f"dtwin-bridge-{socket.gethostname()}"
    port = s.bridge_metrics_port if metrics_port is None else metrics_port
    cfg = BridgeConfig(
        mqtt=MqttTarget.from_settings(s, mqtt_url),
        kafka_bootstrap=bootstrap,
        kafka_acks=s.kafka_acks,
        kafka_idempotence=s.kafka_idempotence,
        kafka_linger_ms=s.kafka_linger_ms,
        forward_interval_s=s.bridge_forward_interval_ms / 1000,
        topic_telemetry=s.topic_telemetry,
        topic_dlq=s.topic_dlq,
        topic_desired=s.topic_desired,
        topic_acks=s.topic_acks,
        partitions=s.kafka_partitions,
        shared_group=s.bridge_shared_group or None,
        client_id=f"{client_id}-{instance}" if instance else client_id,
        metrics_port=port or None,
        otlp_endpoint=s.otlp_endpoint,
        trace_sample_ratio=s.trace_sample_ratio,
        limits=s.limits(),
    )
    asyncio.run(_run(Bridge(cfg)))


async def _run(b: Bridge) -> None:
    task = asyncio.create_task(b.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
