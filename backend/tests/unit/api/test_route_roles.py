"""Every route declares its role in one place, and the declaration holds: walking `app.routes`, each
non-public operation answers 401 to an anonymous call and 403 to the role just below its own, and lets its
own role through. Public: health, login/refresh/logout, the docs and the dashboard's files."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts

from dtwin.auth.deps import declared_role
from dtwin.auth.identity import Role

from ...factories.auth import bearer, token_for

PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
}
NOT_API = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}  # FastAPI's own, public
BELOW = {Role.operator: Role.viewer, Role.admin: Role.operator}
SAMPLE = {"machine_id": "m-1", "name": "pump", "key_id": "0" * 32, "user_id": "0" * 32}


SHARED = {"check_request", "rate_limit"}  # every /api/v1 operation's (api/router.py), before its own


def operations(app: FastAPI) -> list[tuple[str, str, Any]]:
    """(method, path, route) of every HTTP operation, included routers flattened."""
    found = []
    for route in iter_route_contexts(app.routes):
        if route.methods and hasattr(route, "dependant"):
            found += [(method, route.path, route) for method in sorted(route.methods - {"HEAD"})]
    return found


def concrete(path: str) -> str:
    """A path with its parameters filled in (an `:int` one with a number, so the route still matches)."""
    return re.sub(
        r"\{(\w+)(:\w+)?\}", lambda m: "1" if m.group(2) == ":int" else SAMPLE.get(m.group(1), "x"), path
    )


async def call(client: httpx.AsyncClient, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
    content = b"{}" if method in ("POST", "PUT", "PATCH") else None
    return await client.request(method, concrete(path), headers=headers, content=content)


def test_every_operation_declares_exactly_one_role(app: FastAPI) -> None:
    public = set()
    for method, path, route in operations(app):
        roles = declared_role(route.dependant)
        assert len(roles) == 1, (
            f"{method} {path} declares {roles or 'no role'}: name one (auth/deps.py allow)"
        )
        if roles == ["public"]:
            public.add((method, path))
        else:  # the role comes first, so an anonymous caller never learns about the body first
            own = [d.dependency for d in route.dependencies if d.dependency.__name__ not in SHARED]
            assert own and getattr(own[0], "dtwin_role", None) == roles[0], f"{method} {path}: role not first"
    assert public == PUBLIC
    others = {
        route.path
        for route in iter_route_contexts(app.routes)
        if not hasattr(route, "dependant") and not isinstance(route.original_route, APIWebSocketRoute)
    }
    assert others <= NOT_API, others - NOT_API


async def test_anonymous_gets_401_and_the_role_below_403(
    app: FastAPI, anon_client: httpx.AsyncClient
) -> None:
    tokens = {role: await token_for(app, role) for role in Role}
    checked = 0
    for method, path, route in operations(app):
        (role,) = declared_role(route.dependant)
        if role == "public":
            r = await call(anon_client, method, path, None)
            assert r.status_code not in (401, 403) or path == "/api/v1/auth/token", (method, path, r.text)
            continue
        needed = Role(role)
        anonymous = await call(anon_client, method, path, None)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.headers["www-authenticate"] == "Bearer"
        garbage = await call(anon_client, method, path, "x")
        assert garbage.status_code == 401, (method, path, garbage.text)
        if needed in BELOW:
            below = await call(anon_client, method, path, tokens[BELOW[needed]])
            assert below.status_code == 403, (method, path, below.text)
            assert needed.value in below.json()["detail"]
        allowed = await call(anon_client, method, path, tokens[needed])
        assert allowed.status_code not in (401, 403), (method, path, allowed.text)
        checked += 1
    assert checked >= 25


@pytest.mark.parametrize(("role", "status"), [(Role.viewer, 403), (Role.operator, 200)])
async def test_changing_desired_state_needs_an_operator(
    app: FastAPI, anon_client: httpx.AsyncClient, client: httpx.AsyncClient, role: Role, status: int
) -> None:
    created = await client.post("/api/v1/twins", json={"id": "pump-9", "machine_type": "pump"})
    assert created.status_code == 201, created.text
    r = await anon_client.patch(
        "/api/v1/twins/pump-9/desired",
        json={"mode": "standby"},
        headers=bearer(await token_for(app, role)),
    )
    assert r.status_code == status, r.text
