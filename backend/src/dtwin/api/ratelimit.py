"""The rate-limit dependency every /api/v1 operation runs (mounted in api/router.py): the route's class
(read, write, or login for the handlers the auth room marks with `rate_class`) and the caller's key (the
user or API key behind valid credentials, else the client IP) pick the window; over the limit is a 429
problem. The limiter and its storage are core/ratelimit.py."""

from __future__ import annotations

from fastapi import Request, Response

from dtwin.auth import tokens
from dtwin.auth.deps import authenticate_once, get_auth_service
from dtwin.core.http import header_credential
from dtwin.core.ratelimit import RATE_CLASS_ATTR, RouteClass, client_ip, enforce, get_rate_limiter
from dtwin.errors import Unauthorized

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def route_class(request: Request) -> RouteClass:
    route = request.scope.get("route")
    marked = getattr(getattr(route, "endpoint", None), RATE_CLASS_ATTR, None)
    if marked is not None:
        return RouteClass(marked)
    return RouteClass.read if request.method in READ_METHODS else RouteClass.write


async def _caller_key(request: Request) -> str:
    """`user:<id>` or `api_key:<id>` for valid credentials, else `ip:<address>`: an invalid or absent
    credential counts against the address, so random tokens do not open fresh windows. An access token is
    checked by its signature alone (no database read; the route's own dependency still checks the user);
    an API key is looked up."""
    credential = header_credential(request.headers)
    if credential:
        service = get_auth_service(request)
        try:
            if tokens.is_api_key(credential):
                return f"api_key:{(await authenticate_once(request, service, credential)).id}"
            return f"user:{tokens.decode_access(service.token_settings.secret, credential).sub}"
        except (Unauthorized, tokens.TokenError):
            pass
    return f"ip:{client_ip(request)}"


async def rate_limit(request: Request, response: Response) -> None:
    """Count this request in its class's window; 429 with `Retry-After` once it is full. Allowed answers
    carry the RateLimit headers too."""
    limiter = get_rate_limiter(request)
    if limiter is None or not limiter.enabled:
        return
    cls = route_class(request)
    by_address = cls in (RouteClass.login, RouteClass.refresh)
    key = f"ip:{client_ip(request)}" if by_address else await _caller_key(request)
    decision = await enforce(request, cls, key)
    if decision is not None:
        response.headers.update(decision.headers())
