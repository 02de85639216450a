"""A migrated database of its own per test (the lifecycle tests' fixtures)."""

from tests.integration.lifecycle.conftest import lc_url, sessions

__all__ = ["lc_url", "sessions"]
