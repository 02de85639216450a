"""The auth room's request dependencies: the caller's identity (`CurrentIdentity`) and role checks
(`require_role`). A route is protected by naming one of them; see docs/api.md for the roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, params
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from dtwin.audit.context import set_actor
from dtwin.auth.identity import Identity, Role, at_least
from dtwin.auth.service import AuthService
from dtwin.errors import Forbidden, Unauthorized

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path

# auto_error=False: a missing credential is our 401 problem, not FastAPI's plain one
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL, auto_error=False, description="An access token (or an API key) as a Bearer token"
)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")


def get_auth_service(request: Request) -> AuthService:
    """The process's one AuthService, built in the lifespan."""
    service: AuthService = request.app.state.auth
    return service


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def authenticate_once(request: Request, service: AuthService, credential: str) -> Identity:
    """`service.authenticate`, at most once per request and credential: the rate limiter and the route's own
    dependency both ask, and an API key costs a database round trip (its 401 is remembered too)."""
    memo: dict[str, Identity | Unauthorized] | None = getattr(request.state, "identities", None)
    if memo is None:
        memo = request.state.identities = {}
    known = memo.get(credential)
    if known is None:
        try:
            known = await service.authenticate(credential)
        except Unauthorized as exc:
            known = exc
        memo[credential] = known
    if isinstance(known, Unauthorized):
        raise known
    return known


async def current_identity(
    request: Request,
    service: AuthServiceDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Identity:
    """`Authorization: Bearer <access token or API key>`, else `X-API-Key: <key>`; 401 without either.
    The identity is also noted for the audit trail."""
    credential = (bearer or api_key or "").strip()
    if not credential:
        raise Unauthorized("send Authorization: Bearer <token> or X-API-Key: <key>")
    identity = await authenticate_once(request, service, credential)
    set_actor(request, identity.kind, identity.id, identity.name)
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


ROLE_ATTR = "dtwin_role"  # on a role dependency's callable: the role it lets through ("public": anyone)
_checks: dict[Role, Callable[..., Awaitable[Identity]]] = {}


def require_role(role: Role | str) -> Callable[..., Awaitable[Identity]]:
    """The dependency that lets through identities of `role` or above (viewer < operator < admin): 401
    without valid credentials, 403 below the role. One callable per role, so FastAPI resolves it once per
    request however often a route names it."""
    needed = Role(role)
    check = _checks.get(needed)
    if check is None:

        async def check(identity: CurrentIdentity) -> Identity:
            if not at_least(identity.role, needed):
                raise Forbidden(f"needs role {needed.value}; these credentials have {identity.role.value}")
            return identity

        check.__name__ = f"require_{needed.value}"
        setattr(check, ROLE_ATTR, needed.value)
        _checks[needed] = check
    return check


def allow(role: Role | str) -> params.Depends:
    """A route's role, declared once as the first of its `dependencies=[...]` so that it is checked before
    the route's other dependencies (an anonymous caller gets 401, never a content-type error)."""
    declared: params.Depends = Depends(require_role(role))
    return declared


async def _public() -> None:
    """Marks a route that needs no credentials (login, refresh, logout, health)."""


setattr(_public, ROLE_ATTR, "public")
PUBLIC: params.Depends = Depends(_public)


def declared_role(dependant: Dependant) -> list[str]:
    """The roles a route's dependency tree declares (a correct route declares exactly one)."""
    found: list[str] = []
    todo = [dependant]
    while todo:
        d = todo.pop()
        role = getattr(d.call, ROLE_ATTR, None)
        if role is not None and role not in found:
            found.append(role)
        todo.extend(d.dependencies)
    return found


AdminIdentity = Annotated[Identity, Depends(require_role(Role.admin))]
OperatorIdentity = Annotated[Identity, Depends(require_role(Role.operator))]
ViewerIdentity = Annotated[Identity, Depends(require_role(Role.viewer))]
