"""API schemas of the notifications room: routing rules (a secret is written, never read back: `has_secret`)
and the outbox's messages. Every rule the planner and the channels rely on is checked here, so a stored
rule is always usable: 422 names the field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from dtwin.contracts.alarms import Priority, Transition
from dtwin.contracts.inputs import Text
from dtwin.contracts.limits import PLACEMENT_PATTERN

Channel = Literal["email", "webhook", "sms"]
Status = Literal["pending", "sending", "delivered", "dead", "cancelled", "digested"]
Kind = Literal["notice", "escalation", "digest", "test"]
ContentType = Literal["application/json", "application/x-www-form-urlencoded", "text/plain"]
ROUTE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.:\-]{0,127}$"
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# hosts a webhook may reach over plain http (tests, a demo's receiver on the same machine); else https only
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_ESCALATE_AFTER_S = 7 * 86400
# what an sms body template may name, as {name}; other braces are left as they are (JSON bodies)
PLACEHOLDERS = (
    "message",
    "machine_id",
    "machine_type",
    "site",
    "line",
    "priority",
    "transition",
    "state",
    "condition",
    "source",
    "alarm_id",
    "value",
    "ts",
    "raised_at",
    "actor",
    "comment",
    "tier",
    "route",
    "key",
    "count",
)
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")

Placement = Annotated[str, Field(pattern=PLACEMENT_PATTERN)]


def check_url(url: str) -> str:
    """https, or http to this machine (localhost, 127.0.0.1, ::1); an absolute URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("must be an absolute https:// URL")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError("must use https (plain http only to localhost, 127.0.0.1 or ::1)")
    return url


def check_email(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{address[:80]!r} is not an email address: {exc}") from exc


class QuietHoursSpec(BaseModel):
    """A daily quiet period in local time (`start` to `end`, `start` after `end` spans midnight) of an
    IANA time zone. During it non-critical messages wait until it ends; critical ones go out."""

    model_config = ConfigDict(extra="forbid")

    start: Annotated[str, Field(pattern=CLOCK_PATTERN, examples=["22:00"])]
    end: Annotated[str, Field(pattern=CLOCK_PATTERN, examples=["06:00"])]
    timezone: Annotated[str, Field(max_length=64, examples=["Europe/Berlin"])] = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value[:64]!r}") from exc
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursSpec:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class RouteIn(BaseModel):
    """A routing rule (create, or replace with PUT).

    - `channel` email: `targets` are email addresses; webhook: one https URL (JSON body, signed with
      `secret` as `X-Dtwin-Signature: sha256=<hex>`); sms: one https URL of an SMS gateway, the body made
      from `body_template` (placeholders such as `{message}`, `{machine_id}`, `{priority}`) and sent as
      `content_type`. Plain http only to localhost, 127.0.0.1 or ::1.
    - Which alarms: priority at least `min_priority`; `sites`, `lines`, `machine_types` limit it (left
      out: all); `transitions` to notify on (default `raised`).
    - `quiet_hours`: non-critical messages wait until they end.
    - Escalation: `tier` (1 first); an alarm still unacknowledged `escalate_after_s` seconds after this
      tier was due goes to the next tier's rules too."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=ROUTE_NAME_PATTERN, examples=["shift-leads"])]
    channel: Channel
    targets: Annotated[list[Annotated[Text, Field(max_length=2000)]], Field(min_length=1, max_length=50)]
    secret: Annotated[Text, Field(min_length=16, max_length=256)] | None = None
    body_template: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None
    content_type: ContentType | None = None
    min_priority: Priority = "low"
    sites: Annotated[list[Placement], Field(min_length=1, max_length=100)] | None = None
    lines: Annotated[list[Placement], Field(min_length=1, max_length=100)] | None = None
    machine_types: Annotated[list[Placement], Field(min_length=1, max_length=100)] | None = None
    transitions: Annotated[list[Transition], Field(min_length=1, max_length=11)] = ["raised"]
    quiet_hours: QuietHoursSpec | None = None
    tier: Annotated[int, Field(ge=1, le=9)] = 1
    escalate_after_s: Annotated[int, Field(ge=1, le=MAX_ESCALATE_AFTER_S)] | None = None
    enabled: bool = True

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: list[str], info: ValidationInfo) -> list[str]:
        channel = info.data.get("channel")
        if channel == "email":
            return [check_email(t) for t in targets]
        if channel in ("webhook", "sms"):
            if len(targets) != 1:
                raise ValueError(f"a {channel} route has exactly one target: its URL")
            return [check_url(targets[0])]
        return targets

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None, info: ValidationInfo) -> str | None:
        if secret is not None and info.data.get("channel") == "email":
            raise ValueError("only webhook and sms routes sign their bodies with a secret")
        return secret

    @field_validator("body_template")
    @classmethod
    def _template(cls, template: str | None, info: ValidationInfo) -> str | None:
        if template is None:
            return None
        if info.data.get("channel") not in ("sms", None):
            raise ValueError("only sms routes have a body template")
        unknown = sorted({m for m in PLACEHOLDER_RE.findall(template) if m not in PLACEHOLDERS})
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
        return template

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, content_type: str | None, info: ValidationInfo) -> str | None:
        if content_type is not None and info.data.get("channel") not in ("sms", None):
            raise ValueError("only sms routes have a content type (webhooks send JSON)")
        return content_type

    @field_validator("transitions")
    @classmethod
    def _unique(cls, transitions: list[str]) -> list[str]:
        return list(dict.fromkeys(transitions))

    @model_validator(mode="after")
    def _sms_template(self) -> RouteIn:
        if self.channel == "sms" and self.body_template is None:
            raise ValueError("an sms route needs a body_template")
        return self

    def columns(self) -> dict[str, Any]:
        """The rule as table columns (secret left to the caller)."""
        quiet = self.quiet_hours
        return {
            "name": self.name,
            "channel": self.channel,
            "targets": self.targets,
            "body_template": self.body_template,
            "content_type": (self.content_type or "application/json") if self.channel == "sms" else None,
            "min_priority": self.min_priority,
            "sites": self.sites,
            "lines": self.lines,
            "machine_types": self.machine_types,
            "transitions": self.transitions,
            "quiet_start": quiet.start if quiet else None,
            "quiet_end": quiet.end if quiet else None,
            "timezone": quiet.timezone if quiet else "UTC",
            "tier": self.tier,
            "escalate_after_s": self.escalate_after_s,
            "enabled": self.enabled,
        }


class RouteRead(BaseModel):
    """A stored routing rule. The secret is never returned: `has_secret` says whether one is set."""

    id: int
    name: str
    channel: Channel
    targets: list[str]
    has_secret: bool
    body_template: str | None
    content_type: str | None
    min_priority: Priority
    sites: list[str] | None
    lines: list[str] | None
    machine_types: list[str] | None
    transitions: list[Transition]
    quiet_hours: QuietHoursSpec | None
    tier: int
    escalate_after_s: int | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RouteList(BaseModel):
    """Every routing rule, by tier and name."""

    items: list[RouteRead]


class NotificationRead(BaseModel):
    """One message of the outbox. `status`: pending (waits for `next_attempt_at`), sending (claimed by a
    dispatcher; `next_attempt_at` is when its lease ends), delivered, dead (attempts exhausted or refused
    for good: POST .../retry sends it again), cancelled (an escalation the acknowledgement made needless, a
    disabled route), digested (sent inside the digest `digest_id`). `idempotency_key` goes out with every
    attempt (`Idempotency-Key` header; the email's Message-ID derives from it)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    kind: Kind
    alarm_id: int | None
    route_id: int | None
    channel: Channel
    target: str
    tier: int
    priority: str | None
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    digest_id: int | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class NotificationList(BaseModel):
    """A page of the outbox, newest first; pass `next_cursor` as `cursor` for the next (null: last)."""

    items: list[NotificationRead]
    next_cursor: str | None = None
