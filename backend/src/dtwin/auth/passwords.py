"""Password hashing: pwdlib's recommended scheme (argon2id), off the event loop (a hash costs tens of ms)."""

from __future__ import annotations

import asyncio
from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """False for a wrong password and for a stored hash pwdlib cannot read (never raises)."""
    try:
        return _hasher.verify(password, hashed)
    except (PwdlibError, ValueError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone")


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, hashed: str | None) -> bool:
    """Verify off the loop; with no stored hash (unknown user) verify against a dummy one anyway, so an
    unknown name costs as long as a wrong password and does not reveal which names exist."""
    if hashed is None:
        await asyncio.to_thread(verify_password, password, _dummy_hash())
        return False
    return await asyncio.to_thread(verify_password, password, hashed)
