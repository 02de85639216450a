"""Integration-level fixtures: the app (tests/conftest.py `app`, `client`) over the session's real servers."""

import pytest

from dtwin.config import Settings

from ..factories.auth import bearer, token_from_settings


@pytest.fixture
def app_settings(real_settings: Settings) -> Settings:
    return real_settings


@pytest.fixture
async def admin_headers(real_settings: Settings) -> dict[str, str]:
    """`Authorization` as the bootstrap admin, for apps over `real_settings` the test runs itself."""
    return bearer(await token_from_settings(real_settings))
