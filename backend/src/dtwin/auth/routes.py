"""Auth endpoints: login (OAuth2 password flow), refresh, logout, the caller's identity; users and API keys
for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from dtwin.audit.context import note, set_actor
from dtwin.auth import tokens
from dtwin.auth.deps import PUBLIC, AuthServiceDep, CurrentIdentity, allow
from dtwin.auth.identity import Role
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
from dtwin.core.http import require_form, require_json, require_json_if_body
from dtwin.core.ratelimit import RouteClass, client_ip, enforce, rate_class
from dtwin.errors import Unauthorized, problem_response, problem_responses

router = APIRouter(prefix="/auth", tags=["auth"])

Id = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id as listed")]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The dashboard's refresh token: an HttpOnly cookie only the auth routes receive (scripts never see it; a
# cross-site request never carries it), so the access token can live in memory alone.
REFRESH_COOKIE = "dtwin_refresh"
COOKIE_PATH = "/api/v1/auth"
OptionalRefresh = Annotated[RefreshRequest | None, Body()]


def _set_refresh_cookie(request: Request, response: Response, pair: TokenPair) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=pair.refresh_expires_in,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _clear_refresh_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _refresh_token(body: RefreshRequest | None, request: Request) -> str | None:
    """The body's refresh token, else the cookie's (the dashboard sends no body)."""
    if body is not None:
        return body.refresh_token
    cookie = request.cookies.get(REFRESH_COOKIE)
    return cookie if cookie and len(cookie) <= 256 else None


@router.post(
    "/token",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 413, 415, 422),
    dependencies=[PUBLIC, Depends(require_form)],
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
    # the audit trail's actor: the user the token was issued to (its `sub`; no database read)
    user_id = tokens.decode_access(service.token_settings.secret, pair.access_token).sub
    set_actor(request, "user", user_id, form.username[:128])
    _set_refresh_cookie(request, response, pair)
    return pair


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 413, 415, 422),
    dependencies=[PUBLIC, Depends(require_json_if_body)],
)
@rate_class(RouteClass.refresh)
async def refresh(
    service: AuthServiceDep, request: Request, response: Response, body: OptionalRefresh = None
) -> TokenPair | Response:
    """Trade a refresh token (the JSON body's, else the `dtwin_refresh` cookie that login sets) for a new
    pair. Each refresh token works once: presenting a used one again revokes every token of that login
    (someone copied it) and answers 401."""
    response.headers.update(NO_STORE)
    token = _refresh_token(body, request)
    if token is None:
        raise Unauthorized('send the refresh token as JSON {"refresh_token": ...} or in the login cookie')
    try:
        pair = await service.refresh(token)
    except Unauthorized as exc:
        if body is not None:
            raise
        # a dead cookie: the browser should drop it, so the 401 carries its deletion
        refused = problem_response(401, exc.title, exc.detail, request.url.path, headers=exc.headers)
        _clear_refresh_cookie(request, refused)
        return refused
    _set_refresh_cookie(request, response, pair)
    return pair


@router.post(
    "/logout",
    status_code=204,
    responses=problem_responses(400, 413, 415, 422),
    dependencies=[PUBLIC, Depends(require_json_if_body)],
)
async def logout(service: AuthServiceDep, request: Request, body: OptionalRefresh = None) -> Response:
    """End a login (the body's refresh token, else the cookie's): its refresh token and every token
    refreshed from it stop working, and the cookie is cleared. Access tokens already issued expire on their
    own (minutes). 204 for an unknown or missing token too."""
    token = _refresh_token(body, request)
    if token is not None:
        await service.logout(token)
    response = Response(status_code=204)
    _clear_refresh_cookie(request, response)
    return response


@router.get("/me", response_model=IdentityRead, dependencies=[allow(Role.viewer)])
async def me(identity: CurrentIdentity) -> IdentityRead:
    """Who the credentials (an access token or an API key) belong to, and their role."""
    return IdentityRead(kind=identity.kind, id=identity.id, name=identity.name, role=identity.role)


# ------------------------------------------------------------------ admin: API keys


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=problem_responses(400, 401, 403, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def create_api_key(
    body: ApiKeyCreate, service: AuthServiceDep, admin: CurrentIdentity
) -> ApiKeyCreated:
    """Create an API key with a role and an optional expiry (admin). The key is in this response only;
    send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    return await service.create_api_key(body, admin)


@router.get("/api-keys", response_model=ApiKeyList, dependencies=[allow(Role.admin)])
async def list_api_keys(service: AuthServiceDep) -> ApiKeyList:
    """Every API key, revoked and expired ones included, oldest first (admin). Keys themselves are never
    shown again; `prefix` tells them apart."""
    return ApiKeyList(items=await service.list_api_keys())


@router.delete(
    "/api-keys/{key_id}", status_code=204, responses=problem_responses(404), dependencies=[allow(Role.admin)]
)
async def revoke_api_key(key_id: Id, service: AuthServiceDep) -> Response:
    """Revoke an API key (admin): it authenticates nothing from now on. Revoking twice is fine."""
    await service.revoke_api_key(key_id)
    return Response(status_code=204)


# ------------------------------------------------------------------ admin: users


@router.get("/users", response_model=UserList, dependencies=[allow(Role.admin)])
async def list_users(service: AuthServiceDep) -> UserList:
    """Every user by name (admin)."""
    return UserList(items=await service.list_users())


@router.post(
    "/users",
    status_code=201,
    response_model=UserRead,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def create_user(body: UserCreate, service: AuthServiceDep) -> UserRead:
    """Create a user with a password and a role (admin). 409 if the name is taken."""
    return await service.create_user(body)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def update_user(user_id: Id, body: UserPatch, service: AuthServiceDep) -> UserRead:
    """Change a user's role or disable/enable them (admin). A disabled user's refresh tokens are revoked
    and their access tokens refused from the next request on. 409 if it would leave no enabled admin."""
    return await service.update_user(user_id, body)
