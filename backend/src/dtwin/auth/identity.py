"""The auth room's vocabulary: roles and their order, and the identity a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """viewer < operator < admin: each role may do everything the ones below it may."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"


_RANK = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}


def at_least(role: Role, needed: Role) -> bool:
    """True if `role` may do what `needed` may."""
    return _RANK[role] >= _RANK[needed]


@dataclass(frozen=True)
class Identity:
    """Who a request acts as: a user (through an access token) or an API key; `role` is the one in effect
    now (read from the database on every request, not from the token)."""

    kind: Literal["user", "api_key"]
    id: str
    name: str
    role: Role
    expires_at: datetime | None = None  # when the credential stops working (None: an API key without expiry)
