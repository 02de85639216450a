"""build_adapters(settings): the ONLY place that picks embedded or real adapters (the bus through
`dtwin.kit.bus.build_bus`, which the CLI and the bridge use too). Domain services are built on top of them by
the composition root (main.py), not kept here: core knows no domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.redis import create_redis
from dtwin.core.tasks import TaskSupervisor
from dtwin.kit.bus import TelemetryBus, build_bus
from dtwin.kit.deadline import Deadline


@dataclass
class Adapters:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    bus: TelemetryBus
    keys: RedisKeys
    supervisor: TaskSupervisor = field(default_factory=TaskSupervisor)
    on_close: list[Callable[[], object]] = field(default_factory=list)
    db_check: Deadline = field(init=False)  # readiness's database check (a hung database answers nothing)

    def __post_init__(self) -> None:
        self.db_check = Deadline(min(self.settings.db_timeout_s, 5.0), "database check")

    @property
    def mode(self) -> dict[str, str]:
        s = self.settings
        return {
            "bus": "memory" if self.bus.in_process else "kafka",
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
    return Adapters(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        redis=create_redis(settings),
        bus=build_bus(settings, client_id="dtwin-backend"),
        keys=RedisKeys(settings.redis_prefix),
    )
