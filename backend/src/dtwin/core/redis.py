"""Redis client factory: redis.asyncio against a real server, fakeredis in embedded mode."""

from __future__ import annotations

from typing import TypeAlias

import redis.asyncio as aioredis

from dtwin.config import Settings

Redis: TypeAlias = "aioredis.Redis"


def create_redis(settings: Settings) -> aioredis.Redis:
    if settings.redis_url is None:
        import fakeredis

        client: aioredis.Redis = fakeredis.FakeAsyncRedis(
            server=fakeredis.FakeServer(), decode_responses=False
        )
        return client
    return aioredis.Redis.from_url(settings.redis_url, decode_responses=False, health_check_interval=30)
