"""Integration-level fixtures: the app (tests/conftest.py `app`, `client`) over the session's real servers."""

import pytest

from dtwin.config import Settings


@pytest.fixture
def app_settings(real_settings: Settings) -> Settings:
    return real_settings
