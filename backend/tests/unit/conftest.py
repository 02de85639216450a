"""Unit-level fixtures: the app (tests/conftest.py `app`, `client`) over embedded adapters: in-process bus,
fakeredis, SQLite."""

import pytest

from dtwin.config import Settings


@pytest.fixture
def app_settings(embedded_settings: Settings) -> Settings:
    return embedded_settings
