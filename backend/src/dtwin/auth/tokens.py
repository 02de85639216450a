"""Token formats: access JWTs (HS256, PyJWT), opaque refresh tokens and API keys (random, stored as their
sha256). Pure functions: no I/O, no clock of their own beyond what the caller passes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from dtwin.auth.identity import Role

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
API_KEY_PREFIX = "dtwin_"
MAX_TOKEN_CHARS = 4096  # anything longer is refused before parsing
_REQUIRED_CLAIMS = ["sub", "role", "exp", "iat", "jti", "typ"]
_ROLES = frozenset(r.value for r in Role)


class TokenError(Exception):
    """The token is not a valid access token (its message says why; safe to show, holds no token)."""


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    role: Role
    exp: int
    iat: int
    jti: str


def encode_access(secret: str, *, sub: str, role: Role, now: datetime, ttl: timedelta) -> str:
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TYPE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access(secret: str, token: str) -> AccessClaims:
    """The claims of a valid, unexpired HS256 access token signed with `secret`; TokenError otherwise
    (expired, bad signature, another algorithm including `none`, missing claims, another token type)."""
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("token too long")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise TokenError("invalid token") from None
    if claims.get("typ") != ACCESS_TYPE:
        raise TokenError("not an access token")
    sub, role, jti = claims.get("sub"), claims.get("role"), claims.get("jti")
    if not (isinstance(sub, str) and isinstance(jti, str) and isinstance(role, str) and role in _ROLES):
        raise TokenError("invalid token")
    return AccessClaims(sub=sub, role=Role(role), exp=int(claims["exp"]), iat=int(claims["iat"]), jti=jti)


def digest(token: str) -> str:
    """What is stored of a refresh token or an API key: its sha256 (they are 256-bit random, so a fast
    hash is enough; a stolen table yields nothing usable)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(key, prefix): the key is shown once; the prefix (`dtwin_` + 6 characters) stays visible to tell
    keys apart."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(API_KEY_PREFIX) + 6]


def is_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)
