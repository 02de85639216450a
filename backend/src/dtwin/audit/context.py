"""What a request tells the audit trail beyond what the audit middleware sees itself: who it acted as (set
by the auth dependencies and the login route) and a compact summary of the change (set by routes). Both
live on the request's state; nothing here keeps global state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

ACTOR_KEY = "audit_actor"
DETAILS_KEY = "audit_details"


@dataclass(frozen=True)
class Actor:
    """Who made a call: a user, an API key, or `anonymous` (no credentials, or ones that were not valid)."""

    kind: str  # user | api_key | anonymous
    id: str | None
    name: str

    @property
    def label(self) -> str:
        """The form the twin change log stores: `user:alice`, `api_key:ci-bot`, `anonymous`."""
        return self.kind if self.kind == "anonymous" else f"{self.kind}:{self.name}"


ANONYMOUS = Actor("anonymous", None, "anonymous")


def set_actor(request: Request, kind: str, id: str | None, name: str) -> Actor:
    actor = Actor(kind, id, name)
    setattr(request.state, ACTOR_KEY, actor)
    return actor


def actor_of(request: Request) -> Actor | None:
    actor: Actor | None = getattr(request.state, ACTOR_KEY, None)
    return actor


def note(request: Request, **details: Any) -> None:
    """Add to the call's audit summary: small values only (ids, key names), never a body or a secret."""
    current: dict[str, Any] = getattr(request.state, DETAILS_KEY, None) or {}
    current.update(details)
    setattr(request.state, DETAILS_KEY, current)
