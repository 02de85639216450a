"""Rate limits: a moving window per key and route class (the `limits` library), kept in Redis in real mode
(every backend process shares the counters) and in memory in embedded mode. A storage failure lets the
request through (fail open): rate limiting must never be why the API is down."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import redis.asyncio as aioredis
import structlog
from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from dtwin.config import Settings
from dtwin.core.metrics import Metrics
from dtwin.errors import TooManyRequests

log = structlog.get_logger(__name__)

RATE_CLASS_ATTR = "__rate_limit_class__"
F = TypeVar("F", bound=Callable[..., object])


class RouteClass(StrEnum):
    """What a limit applies to: reads (GET, HEAD, OPTIONS), writes (every other method), logins (per client
    IP, and per IP and user name), refreshes (per client IP: every page load of the dashboard is one, and a
    refresh token cannot be guessed, so its limit is looser), and failed logins per user name."""

    read = "read"
    write = "write"
    login = "login"
    refresh = "refresh"
    login_failures = "login_failures"


@dataclass(frozen=True)
class Decision:
    """The answer for one hit: allowed or not, and what the RateLimit headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window has room again

    def headers(self) -> dict[str, str]:
        """`RateLimit-Limit`, `-Remaining`, `-Reset` (IETF draft), and `Retry-After` when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_s))
        return headers


class RateLimiter:
    """Moving-window limits per route class on one storage. `hit` counts a request and decides; `check`
    decides without counting (failed logins are counted only when they fail, with `hit`). Both answer None
    when limits are off or the storage failed (logged once per outage)."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.enabled = settings.rate_limit_enabled
        self._items: dict[RouteClass, RateLimitItem] = {
            RouteClass.read: parse(settings.rate_limit_read),
            RouteClass.write: parse(settings.rate_limit_write),
            RouteClass.login: parse(settings.rate_limit_login),
            RouteClass.refresh: parse(settings.rate_limit_refresh),
            RouteClass.login_failures: parse(settings.rate_limit_login_failures),
        }
        self._storage = storage
        self._window = MovingWindowRateLimiter(storage)
        self.failing = False  # the storage failed on the last call

    async def hit(self, route_class: RouteClass, *key: str) -> Decision | None:
        return await self._decide(route_class, key, count=True)

    async def check(self, route_class: RouteClass, *key: str) -> Decision | None:
        return await self._decide(route_class, key, count=False)

    async def _decide(self, route_class: RouteClass, key: tuple[str, ...], *, count: bool) -> Decision | None:
        if not self.enabled:
            return None
        item = self._items[route_class]
        try:
            if count:
                allowed = await self._window.hit(item, route_class.value, *key)
            else:
                allowed = await self._window.test(item, route_class.value, *key)
            stats = await self._window.get_window_stats(item, route_class.value, *key)
        except Exception as exc:  # fail open: any storage error lets the request through
            if not self.failing:
                log.warning("rate_limit_storage_failed", error=f"{type(exc).__name__}: {exc}"[:500])
            self.failing = True
            return None
        if self.failing:
            log.info("rate_limit_storage_back")
            self.failing = False
        reset_s = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, item.amount, stats.remaining, reset_s)


def build_rate_limiter(settings: Settings, redis: aioredis.Redis) -> RateLimiter:
    """Memory storage in embedded mode; in real mode the configured Redis, through the app's own
    connection pool (`redis` is the adapters' client)."""
    if settings.embedded_redis:
        return RateLimiter(settings, MemoryStorage())
    storage = RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        key_prefix=f"{settings.redis_prefix}:ratelimit",
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )
    return RateLimiter(settings, storage)


def rate_class(route_class: RouteClass) -> Callable[[F], F]:
    """Mark a route handler with its class (under `@router.post(...)`): the router-level dependency
    (api/ratelimit.py) counts it there instead of as a read or a write."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, RATE_CLASS_ATTR, route_class.value)
        return endpoint

    return mark


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy, uvicorn takes it from X-Forwarded-For when FORWARDED_ALLOW_IPS
    names the proxy)."""
    return request.client.host if request.client else "unknown"


def get_rate_limiter(request: Request) -> RateLimiter | None:
    """The process's limiter (built in the lifespan), None in an app without one."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    return limiter


async def enforce(
    request: Request, route_class: RouteClass, *key: str, count: bool = True
) -> Decision | None:
    """Hit (or only check) a window and raise the 429 problem when it is full."""
    limiter = get_rate_limiter(request)
    if limiter is None:
        return None
    decision = await (limiter.hit if count else limiter.check)(route_class, *key)
    if decision is not None and not decision.allowed:
        metrics: Metrics | None = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.rate_limited.labels(route_class.value).inc()
        raise TooManyRequests(
            f"{route_class.value} limit of {decision.limit} reached; retry in {max(1, decision.reset_s)} s",
            headers=decision.headers(),
        )
    return decision
