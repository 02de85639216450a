"""Credentials for tests: access tokens for the app under test (minted: no password hashing per test), and
clients that send them. Apps a test runs itself take `token_from_settings` (dtwin_devkit.testing)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from dtwin.auth.identity import Role
from dtwin.auth.service import AuthService
from dtwin_devkit.testing import TEST_PASSWORD, bearer, mint_token, token_from_settings

__all__ = ["TEST_PASSWORD", "as_admin", "bearer", "token_for", "token_from_settings"]


async def token_for(app: FastAPI, role: Role | None = None, ttl: timedelta | None = None) -> str:
    """An access token for `app` (entered): the bootstrap admin's, or `test-<role>`'s."""
    service: AuthService = app.state.auth
    return await mint_token(service, role, ttl)


async def as_admin(app: FastAPI, base_url: str = "http://t") -> httpx.AsyncClient:
    """A client of `app` in process, acting as the bootstrap admin (enter it with `async with`)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, headers=bearer(await token_for(app))
    )
