"""The notifications room's tables: routing rules (who hears about which alarms, how, when) and the
transactional outbox (one row per message to send, written in the alarm transition's transaction and
delivered by the dispatcher)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, SmallInteger, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class NotificationRouteRow(Base):
    """A routing rule: which alarms (priority at least `min_priority`, optional site/line/machine-type
    lists, the transitions named) go to which recipients (`targets`: email addresses, or one URL for
    webhook and sms), with quiet hours and an escalation tier. `secret` signs webhook and sms bodies; it
    is never returned by the API."""

    __tablename__ = "notification_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | sms
    targets: Mapped[list[str]] = mapped_column(_JSON)
    secret: Mapped[str | None] = mapped_column(String(256), nullable=True)
    body_template: Mapped[str | None] = mapped_column(Text, nullable=True)  # sms only
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sms only
    min_priority: Mapped[str] = mapped_column(String(16))
    sites: Mapped[list[str] | None] = mapped_column(_JSON, nullable=True)
    lines: Mapped[list[str] | None] = mapped_column(_JSON, nullable=True)
    machine_types: Mapped[list[str] | None] = mapped_column(_JSON, nullable=True)
    transitions: Mapped[list[str]] = mapped_column(_JSON)
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "HH:MM", local time
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    tier: Mapped[int] = mapped_column(SmallInteger, default=1)
    escalate_after_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NotificationOutboxRow(Base):
    """One message to one route's recipients. `kind`: notice (a transition, sent when due), escalation
    (the next tier's message, due when the alarm has stayed unacknowledged long enough; cancelled by an
    acknowledgement), digest (a summary of the rows folded into it: their `digest_id`), test. `status`:
    pending (waiting for `next_attempt_at`), sending (claimed by a dispatcher until `next_attempt_at`, its
    lease), delivered, dead (attempts exhausted or refused for good; retryable through the API),
    cancelled, digested (sent as part of digest `digest_id`). The idempotency key (notice key, route,
    tier) goes out with every attempt."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_outbox_alarm_id", "alarm_id"),
        Index("ix_notification_outbox_route_id_delivered_at", "route_id", "delivered_at"),
        Index("ix_notification_outbox_digest_id", "digest_id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    alarm_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    route_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # no foreign key: rows outlive routes
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)  # email: addresses joined by ", "; webhook and sms: the URL
    tier: Mapped[int] = mapped_column(SmallInteger, default=1)
    priority: Mapped[str | None] = mapped_column(String(16), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(_JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    digest_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
