"""Authenticating does not read the user's (or key's) row on every request: what was read is trusted for
`auth_cache_s`. This process's own changes apply at once; another process's within the TTL."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from dtwin.auth.bootstrap import build_auth_service
from dtwin.auth.identity import Role
from dtwin.auth.schemas import ApiKeyCreate, UserPatch
from dtwin.auth.service import AuthService, IdentityCache
from dtwin.errors import Unauthorized

from ...factories.auth import token_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_another_process_disabling_a_user_applies_within_the_ttl(app: FastAPI) -> None:
    service: AuthService = app.state.auth
    clock = Clock()
    service.cache = IdentityCache(5.0, clock)
    token = await token_for(app, Role.operator)
    assert (await service.authenticate(token)).role is Role.operator
    other = build_auth_service(app.state.adapters.settings, app.state.adapters.sessions)  # e.g. the CLI
    user_id = await other.user_id_of("test-operator")
    await other.update_user(user_id, UserPatch(disabled=True))
    assert (await service.authenticate(token)).name == "test-operator"  # still trusted: within the TTL
    clock.now += 5.1
    with pytest.raises(Unauthorized, match="disabled"):
        await service.authenticate(token)
    await other.update_user(user_id, UserPatch(disabled=False))
    with pytest.raises(Unauthorized):  # the refusal is remembered for the TTL too
        await service.authenticate(token)
    clock.now += 5.1
    assert (await service.authenticate(token)).name == "test-operator"


async def test_this_process_changes_apply_at_once(app: FastAPI) -> None:
    service: AuthService = app.state.auth
    service.cache = IdentityCache(3600.0)
    token = await token_for(app, Role.operator)
    assert (await service.authenticate(token)).role is Role.operator
    user_id = await service.user_id_of("test-operator")
    await service.update_user(user_id, UserPatch(role=Role.viewer))
    assert (await service.authenticate(token)).role is Role.viewer
    admin = await service.authenticate(await token_for(app))
    created = await service.create_api_key(ApiKeyCreate(name="k", role=Role.viewer), admin)
    assert (await service.authenticate(created.key)).name == "k"
    await service.revoke_api_key(created.id)
    with pytest.raises(Unauthorized):
        await service.authenticate(created.key)


def test_the_cache_is_bounded_and_off_at_zero() -> None:
    off = IdentityCache(0.0)
    off.put("a", None)
    assert off.get("a") == (False, None)
    cache = IdentityCache(60.0)
    for i in range(10_001):
        cache.put(str(i), None)
    assert cache.get("10000") == (True, None) and cache.get("0") == (False, None)
