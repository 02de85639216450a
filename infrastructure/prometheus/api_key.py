"""The API key Prometheus scrapes the backend's /metrics with (the docker compose service `prometheus-key`,
run at every `docker compose up` in the dtwin image): keeps a key file whose key still works, else writes the
key given in DTWIN_PROMETHEUS_API_KEY, else logs in as the bootstrap admin and creates a viewer key named
`prometheus`. The file is replaced atomically and readable by Prometheus's user only. Tested by
backend/tests/unit/infra/test_observability.py against an embedded backend."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import httpx

API = "/api/v1/auth"
KEY_NAME = "prometheus"
ATTEMPTS = 60
DONE = {
    "kept": "kept the working API key in",
    "given": "wrote the given API key to",
    "created": "created a viewer API key in",
}


class Refused(Exception):
    """No key can be provided this way: the message says what to do instead."""


async def works(client: httpx.AsyncClient, key: str) -> bool:
    """Whether `key` authenticates as an API key (a revoked, expired or mistyped one does not)."""
    r = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {key}"})
    if r.status_code == 401:
        return False
    r.raise_for_status()
    return bool(r.json().get("kind") == "api_key")


async def create(client: httpx.AsyncClient, username: str, password: str) -> str:
    """A new viewer API key, made by logging in as `username`."""
    r = await client.post(f"{API}/token", data={"username": username, "password": password})
    if r.status_code == 401:
        raise Refused(
            f"cannot log in as {username!r} to create Prometheus's API key (its password changed?): create a "
            "viewer key (POST /api/v1/auth/api-keys) and pass it as DTWIN_PROMETHEUS_API_KEY"
        )
    r.raise_for_status()
    token = r.json()["access_token"]
    r = await client.post(
        f"{API}/api-keys",
        json={"name": KEY_NAME, "role": "viewer"},
        headers={"Authorization": f"Bearer {token}"},
    )
    r.raise_for_status()
    return str(r.json()["key"])


def write_key(path: Path, key: str, owner: tuple[int, int] | None) -> None:
    """Replace `path` with `key` (mode 0400, given to `owner` if set) in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key)
        os.chmod(tmp, 0o400)
        if owner is not None:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def ensure_key(
    client: httpx.AsyncClient,
    key_file: Path,
    *,
    given: str | None,
    username: str,
    password: str | None,
    owner: tuple[int, int] | None = None,
) -> str:
    """Make `key_file` hold a working API key; returns what was done: kept, given or created."""
    if given:
        if not await works(client, given):
            raise Refused("DTWIN_PROMETHEUS_API_KEY is not a valid API key of this backend")
        write_key(key_file, given, owner)
        return "given"
    existing = current_key(key_file)
    if existing and await works(client, existing):
        return "kept"
    if not password:
        raise Refused(
            "no admin password to create Prometheus's API key with: set DTWIN_BOOTSTRAP_ADMIN_PASSWORD, or "
            "create a viewer key (POST /api/v1/auth/api-keys) and pass it as DTWIN_PROMETHEUS_API_KEY"
        )
    write_key(key_file, await create(client, username, password), owner)
    return "created"


def current_key(path: Path) -> str | None:
    return path.read_text().strip() if path.is_file() else None


def admin_password(env: dict[str, str], password_file: Path) -> str | None:
    """DTWIN_BOOTSTRAP_ADMIN_PASSWORD, else the password the backend generated into its state directory."""
    if env.get("DTWIN_BOOTSTRAP_ADMIN_PASSWORD"):
        return env["DTWIN_BOOTSTRAP_ADMIN_PASSWORD"]
    if password_file.is_file():
        return password_file.read_text().strip() or None
    return None


def parse_owner(text: str | None) -> tuple[int, int] | None:
    """`uid:gid` (KEY_OWNER), or None to leave the file to the user running this."""
    if not text:
        return None
    uid, gid = text.split(":")
    return int(uid), int(gid)


def say(text: str, *, error: bool = False) -> None:
    (sys.stderr if error else sys.stdout).write(f"prometheus-key: {text}\n")


async def main(env: dict[str, str], transport: httpx.AsyncBaseTransport | None = None) -> int:
    """The compose entry point (environment: DTWIN_URL, KEY_FILE, KEY_OWNER, PASSWORD_FILE,
    DTWIN_BOOTSTRAP_ADMIN_PASSWORD, DTWIN_PROMETHEUS_API_KEY, DTWIN_ADMIN_USERNAME); 0 once the key is in
    place."""
    key_file = Path(env.get("KEY_FILE", "/auth/dtwin-api-key"))
    owner = parse_owner(env.get("KEY_OWNER"))
    base_url = env.get("DTWIN_URL", "http://backend:8000")
    async with httpx.AsyncClient(base_url=base_url, timeout=10, transport=transport) as client:
        for attempt in range(ATTEMPTS):  # the backend may still be starting (2 s apart)
            try:
                done = await ensure_key(
                    client,
                    key_file,
                    given=env.get("DTWIN_PROMETHEUS_API_KEY") or None,
                    username=env.get("DTWIN_ADMIN_USERNAME", "admin"),
                    password=admin_password(
                        env, Path(env.get("PASSWORD_FILE", "/data/bootstrap-admin-password"))
                    ),
                    owner=owner,
                )
            except Refused as exc:
                say(str(exc), error=True)
                return 1
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code < 500:  # not a backend still starting: retrying will not help
                    say(f"{exc}: {exc.response.text[:500]}", error=True)
                    return 1
                error: Exception = exc
            except httpx.TransportError as exc:
                error = exc
            else:
                say(f"{DONE[done]} {key_file}")
                return 0
            if attempt == ATTEMPTS - 1:
                say(f"the backend does not answer: {error}", error=True)
                return 1
            await asyncio.sleep(2)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(dict(os.environ))))
