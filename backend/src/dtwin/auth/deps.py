"""The auth room's request dependencies: the caller's identity (`CurrentIdentity`) and role checks
(`require_role`). A route is protected by naming one of them; see docs/api.md for the roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from dtwin.audit.context import note, set_actor
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


async def optional_identity(
    request: Request,
    service: AuthServiceDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Identity | None:
    """The caller if it sent valid credentials, else None (anonymous): for routes not protected yet, which
    still record who made a change. Invalid credentials are anonymous here, not a 401."""
    credential = (bearer or api_key or "").strip()
    if not credential:
        set_actor(request, "anonymous", None, "anonymous")
        return None
    try:
        identity = await authenticate_once(request, service, credential)
    except Unauthorized:
        set_actor(request, "anonymous", None, "anonymous")
        note(request, credentials="invalid")
        return None
    set_actor(request, identity.kind, identity.id, identity.name)
    return identity


OptionalIdentity = Annotated[Identity | None, Depends(optional_identity)]


def require_role(role: Role | str) -> Callable[[Identity], Awaitable[Identity]]:
    """A dependency that lets through identities of `role` or above (viewer < operator < admin): 401
    without valid credentials, 403 below the role."""
    needed = Role(role)

    async def check(identity: CurrentIdentity) -> Identity:
        if not at_least(identity.role, needed):
            raise Forbidden(f"needs role {needed.value}; these credentials have {identity.role.value}")
        return identity

    check.__name__ = f"require_{needed.value}"
    return check


AdminIdentity = Annotated[Identity, Depends(require_role(Role.admin))]
OperatorIdentity = Annotated[Identity, Depends(require_role(Role.operator))]
ViewerIdentity = Annotated[Identity, Depends(require_role(Role.viewer))]
