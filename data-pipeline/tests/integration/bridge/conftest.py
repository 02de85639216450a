from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from dtwin.kit.bus import TelemetryBus
from dtwin_devkit.servers import Server
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig
from dtwin_pipeline.mqtt import MqttTarget

RunBridge = Callable[..., "asynccontextmanager[Bridge]"]


@pytest.fixture
def bridge_config(servers: dict[str, Server], uid: str) -> BridgeConfig:
    """A bridge on its own topics, MQTT prefix, client id and groups, so tests never see each other."""
    return BridgeConfig(
        mqtt=MqttTarget.from_url(servers["mosquitto"].url),
        kafka_bootstrap=servers["kafka"].url,
        topic_telemetry=f"raw.{uid}",
        topic_dlq=f"dlq.{uid}",
        topic_desired=f"desired.{uid}",
        topic_acks=f"acks.{uid}",
        partitions=3,
        telemetry_filter=f"plant/{uid}/+/+/telemetry",
        ack_filter=f"plant/{uid}/+/+/ack",
        shared_group=f"g{uid}",
        client_id=f"bridge-{uid}",
        command_group=f"cmd-{uid}",
        flush_interval_s=0.1,
    )


@asynccontextmanager
async def running_bridge(cfg: BridgeConfig, bus: TelemetryBus | None = None) -> AsyncIterator[Bridge]:
    bridge = Bridge(cfg, bus)
    task = asyncio.create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.ready.wait(), 30)
        yield bridge
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
