"""Startup of the auth room: the JWT key (required with PostgreSQL; generated and kept in the state
directory in embedded mode) and the first admin (created when there is no user at all)."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.auth.service import AuthService, TokenSettings
from dtwin.config import Settings

log = structlog.get_logger(__name__)

SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name
ADMIN_PASSWORD_FILE = "bootstrap-admin-password"  # noqa: S105 - a file name


class AuthConfigError(Exception):
    """The settings cannot run the auth room (the message says what to set)."""


def is_embedded_database(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def state_dir(settings: Settings) -> Path:
    """Where generated secrets are kept: DTWIN_STATE_DIR, else beside the SQLite database, else the data
    directory (DTWIN_DATA_DIR: <repo>/var in a source checkout)."""
    if settings.state_dir is not None:
        return settings.state_dir
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent
    return settings.data_dir


def _write_private(path: Path, text: str) -> bool:
    """Create `path` readable by its owner only (0600) with `text`; False if it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return True


def jwt_secret(settings: Settings) -> str:
    """DTWIN_JWT_SECRET; without it, with PostgreSQL (real mode, processes must share one key) an
    AuthConfigError, in embedded mode the key kept in the state directory (generated on first use), so a
    restart keeps sessions."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if not is_embedded_database(settings):
        raise AuthConfigError(
            "DTWIN_JWT_SECRET is not set: with a PostgreSQL database every backend process must sign and "
            "check access tokens with the same key. Set it to 32+ random characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    path = state_dir(settings) / SECRET_FILE
    if _write_private(path, secrets.token_urlsafe(48)):
        log.info("jwt_secret_generated", path=str(path))
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise AuthConfigError(f"{path} holds a key shorter than 32 characters: delete it to get a new one")
    return secret


def build_auth_service(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> AuthService:
    return AuthService(
        sessions,
        TokenSettings(
            secret=jwt_secret(settings),
            access_ttl=timedelta(seconds=settings.access_token_ttl_s),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_s),
        ),
        cache_s=settings.auth_cache_s,
    )


async def ensure_bootstrap_admin(settings: Settings, service: AuthService) -> None:
    """With no user at all, create `admin`: with DTWIN_BOOTSTRAP_ADMIN_PASSWORD, or a generated password
    printed once on the console (not through the log) and written to the state directory (0600)."""
    if await service.has_users():
        return
    given = settings.bootstrap_admin_password
    password = given.get_secret_value() if given is not None else secrets.token_urlsafe(12)
    if not await service.ensure_admin(password):
        return
    if given is not None:
        log.info("bootstrap_admin_created", username="admin", source="DTWIN_BOOTSTRAP_ADMIN_PASSWORD")
        return
    path = state_dir(settings) / ADMIN_PASSWORD_FILE
    path.unlink(missing_ok=True)  # a file from an earlier database would be wrong now
    _write_private(path, password + "\n")
    sys.stderr.write(
        f"\n  dtwin: created user 'admin' with password  {password}\n"
        f"  (shown once; also in {path}, mode 0600). Change it or create your own admin.\n\n"
    )
    log.info("bootstrap_admin_created", username="admin", password_file=str(path))


async def start_auth(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> AuthService:
    """The process's AuthService, after making sure an admin exists."""
    service = build_auth_service(settings, sessions)
    await ensure_bootstrap_admin(settings, service)
    return service
