"""Rate limits on real Redis: two backend processes (two apps over one Redis) share each window, and an
unreachable Redis lets requests through (fail open)."""

from __future__ import annotations

from contextlib import AsyncExitStack

import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.core.ratelimit import RouteClass, build_rate_limiter
from dtwin.main import create_app
from dtwin_devkit.servers import free_port

from ...factories.auth import as_admin


async def test_two_backends_share_the_window(real_settings: Settings) -> None:
    settings = real_settings.model_copy(update={"rate_limit_read": "4/minute"})
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(await stack.enter_async_context(await as_admin(app)))
        a, b = clients
        seen = []
        for c in (a, b, a, b):
            r = await c.get("/api/v1/twins")
            assert r.status_code == 200, r.text
            seen.append(r.headers["ratelimit-remaining"])
        assert seen == ["3", "2", "1", "0"]
        for c in (a, b):
            r = await c.get("/api/v1/twins")
            assert r.status_code == 429, r.text
            assert int(r.headers["retry-after"]) >= 1


async def test_an_unreachable_redis_lets_requests_through(real_settings: Settings) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = real_settings.model_copy(update={"redis_url": url, "rate_limit_read": "1/minute"})
    client = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        limiter = build_rate_limiter(settings, client)
        assert await limiter.hit(RouteClass.read, "ip:10.0.0.1") is None
        assert await limiter.hit(RouteClass.read, "ip:10.0.0.1") is None
        assert limiter.failing
    finally:
        await client.aclose()
