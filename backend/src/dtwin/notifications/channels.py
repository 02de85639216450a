"""What a channel is given and what it may answer: a `Delivery` (one outbox row ready to go, with its
route's secret and template) and, on failure, a `TransientError` (retried with backoff) or a
`PermanentError` (the row is dead at once: retrying cannot help until someone changes something). Any
other exception counts as transient. Every send runs under the dispatcher's timeout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DeliveryError(Exception):
    """A send that failed; the message says why (it lands in the row's `last_error`)."""


class TransientError(DeliveryError):
    """Worth another attempt (a timeout, a refused connection, a 5xx, a 429)."""


class PermanentError(DeliveryError):
    """Not worth another attempt (a 4xx, a recipient refused, the route deleted)."""


@dataclass(frozen=True)
class RouteInfo:
    """What a channel needs of the route at send time (read then, so a new secret applies at once)."""

    id: int | None
    name: str
    secret: str | None = None
    body_template: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One message to send: the outbox row's id, idempotency key (the same on every attempt), kind, tier,
    channel and target, its payload (`{"notice": ...}`), the route, and for a digest its members'
    payloads (each `{"id", "kind", "tier", "notice"}`)."""

    id: int
    key: str
    kind: str
    channel: str
    target: str
    tier: int
    payload: dict[str, Any]
    route: RouteInfo
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        return [t.strip() for t in self.target.split(",") if t.strip()]


class Channel(Protocol):
    async def send(self, delivery: Delivery) -> None:
        """Deliver, or raise (TransientError / PermanentError / anything: transient)."""
        ...

    async def aclose(self) -> None: ...


def http_failure(status: int, reason: str) -> DeliveryError:
    """How an HTTP answer other than 2xx counts: 408, 425, 429 and 5xx may pass (transient); any other
    (4xx, a redirect, which is not followed) will not (permanent)."""
    text = f"HTTP {status} {reason}".strip()
    if status in (408, 425, 429) or status >= 500:
        return TransientError(text)
    return PermanentError(text if status < 300 or status >= 400 else f"{text} (redirects are not followed)")
