"""build_runtime(settings): the ONLY place that picks embedded or real adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.redis import create_redis
from dtwin.core.tasks import TaskSupervisor
from dtwin.kit.bus import KafkaBus, MemoryBus, TelemetryBus


@dataclass
class Adapters:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    bus: TelemetryBus
    keys: RedisKeys
    supervisor: TaskSupervisor = field(default_factory=TaskSupervisor)
    durable: Any = None  # twins.durable.Durability, set in the lifespan (core knows no domain)
    view: Any = None  # twins.view.FleetView, the process's read model, set in the lifespan

    on_close: list[Callable[[], object]] = field(default_factory=list)

    @property
    def mode(self) -> dict[str, str]:
        s = self.settings
        return {
            "bus": "memory" if s.embedded_bus else "kafka",
            "redis": "fakeredis" if s.embedded_redis else "redis",
            "database": self.engine.dialect.name,
        }

    async def close(self) -> None:
        await self.supervisor.stop()
        for hook in self.on_close:
            hook()
        await self.bus.stop()
        await self.redis.aclose()
        await self.engine.dispose()


def build_adapters(settings: Settings) -> Adapters:
    engine = create_engine(settings.database_url)
    bus: TelemetryBus
    if settings.kafka_bootstrap is None:
        bus = MemoryBus()
    else:
        bus = KafkaBus(
            settings.kafka_bootstrap,
            acks=settings.kafka_acks,
            idempotence=settings.kafka_idempotence,
            linger_ms=settings.kafka_linger_ms,
            client_id="dtwin-backend",
        )
    return Adapters(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        redis=create_redis(settings),
        bus=bus,
        keys=RedisKeys(settings.redis_prefix),
    )
