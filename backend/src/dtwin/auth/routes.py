"""Auth endpoints: login (OAuth2 password flow), refresh, logout, the caller's identity; users and API keys
for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from dtwin.audit.context import note, set_actor
from dtwin.auth.deps import AdminIdentity, AuthServiceDep, CurrentIdentity
from dtwin.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    IdentityRead,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserList,
    UserPatch,
    UserRead,
)
from dtwin.core.http import require_form, require_json
from dtwin.core.ratelimit import RouteClass, client_ip, enforce, rate_class
from dtwin.errors import Unauthorized, problem_responses

router = APIRouter(prefix="/auth", tags=["auth"])

Id = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id as listed")]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/token",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 413, 415, 422),
    dependencies=[Depends(require_form)],
)
@rate_class(RouteClass.login)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    service: AuthServiceDep,
    request: Request,
    response: Response,
) -> TokenPair:
    """Log in with `username` and `password` (form-encoded, OAuth2 password flow: Swagger's *Authorize*
    uses it). Returns a short-lived access token and a refresh token. 401 for a wrong name or password and
    for a disabled user, alike. 429 after too many attempts from one address, for one user name from one
    address, or too many failures for one user name (docs/api.md, rate limits)."""
    response.headers.update(NO_STORE)
    username = form.username[:128]
    await enforce(request, RouteClass.login, "user", client_ip(request), username)
    await enforce(request, RouteClass.login_failures, username, count=False)
    note(request, username=form.username[:64])  # the audit trail's; never the password
    try:
        pair = await service.login(form.username, form.password)
    except Unauthorized:
        await enforce(request, RouteClass.login_failures, username)  # counted; this one still answers 401
        raise
    set_actor(request, "user", None, form.username[:128])
    return pair


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 413, 415, 422),
    dependencies=[Depends(require_json)],
)
@rate_class(RouteClass.login)
async def refresh(body: RefreshRequest, service: AuthServiceDep, response: Response) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once: presenting a used one again
    revokes every token of that login (someone copied it) and answers 401."""
    response.headers.update(NO_STORE)
    return await service.refresh(body.refresh_token)


@router.post(
    "/logout",
    status_code=204,
    responses=problem_responses(400, 413, 415, 422),
    dependencies=[Depends(require_json)],
)
async def logout(body: RefreshRequest, service: AuthServiceDep) -> Response:
    """End a login: its refresh token and every token refreshed from it stop working. Access tokens
    already issued expire on their own (minutes). 204 for an unknown token too."""
    await service.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/me", response_model=IdentityRead, responses=problem_responses(401))
async def me(identity: CurrentIdentity) -> IdentityRead:
    """Who the credentials (an access token or an API key) belong to, and their role."""
    return IdentityRead(kind=identity.kind, id=identity.id, name=identity.name, role=identity.role)


# ------------------------------------------------------------------ admin: API keys


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=problem_responses(400, 401, 403, 413, 415, 422),
    dependencies=[Depends(require_json)],
)
async def create_api_key(body: ApiKeyCreate, service: AuthServiceDep, admin: AdminIdentity) -> ApiKeyCreated:
    """Create an API key with a role and an optional expiry (admin). The key is in this response only;
    send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    return await service.create_api_key(body, admin)


@router.get("/api-keys", response_model=ApiKeyList, responses=problem_responses(401, 403))
async def list_api_keys(service: AuthServiceDep, _: AdminIdentity) -> ApiKeyList:
    """Every API key, revoked and expired ones included, oldest first (admin). Keys themselves are never
    shown again; `prefix` tells them apart."""
    return ApiKeyList(items=await service.list_api_keys())


@router.delete("/api-keys/{key_id}", status_code=204, responses=problem_responses(401, 403, 404, 422))
async def revoke_api_key(key_id: Id, service: AuthServiceDep, _: AdminIdentity) -> Response:
    """Revoke an API key (admin): it authenticates nothing from now on. Revoking twice is fine."""
    await service.revoke_api_key(key_id)
    return Response(status_code=204)


# ------------------------------------------------------------------ admin: users


@router.get("/users", response_model=UserList, responses=problem_responses(401, 403))
async def list_users(service: AuthServiceDep, _: AdminIdentity) -> UserList:
    """Every user by name (admin)."""
    return UserList(items=await service.list_users())


@router.post(
    "/users",
    status_code=201,
    response_model=UserRead,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422),
    dependencies=[Depends(require_json)],
)
async def create_user(body: UserCreate, service: AuthServiceDep, _: AdminIdentity) -> UserRead:
    """Create a user with a password and a role (admin). 409 if the name is taken."""
    return await service.create_user(body)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    dependencies=[Depends(require_json)],
)
async def update_user(user_id: Id, body: UserPatch, service: AuthServiceDep, _: AdminIdentity) -> UserRead:
    """Change a user's role or disable/enable them (admin). A disabled user's refresh tokens are revoked
    and their access tokens refused from the next request on. 409 if it would leave no enabled admin."""
    return await service.update_user(user_id, body)
