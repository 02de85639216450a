"""Alarm tables: threshold rules (versioned, soft-deleted), alarms (one open per machine and condition) and
each alarm's history (every transition with who, when and why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = BigInteger().with_variant(Integer(), "sqlite")


class AlarmRuleRow(Base):
    """A threshold rule: `kind` hi/hihi (above `threshold`) or lo/lolo (below) of one sensor, for every
    machine of `machine_type` or for one `machine_id` (which then replaces a type rule of the same kind and
    sensor for that machine). Clears once the value is `deadband` back inside; the condition must hold
    `on_delay_s` before the alarm is raised and its absence `off_delay_s` before it clears. `version` grows
    with every change (the API's ETag); a deleted rule stays as a tombstone (`deleted`)."""

    __tablename__ = "alarm_rules"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    machine_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    machine_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    sensor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[float] = mapped_column(Float)
    deadband: Mapped[float] = mapped_column(Float, default=0.0)
    on_delay_s: Mapped[float] = mapped_column(Float, default=0.0)
    off_delay_s: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128), default="system")


class AlarmRow(Base):
    """An alarm: raised once per (machine, condition) while it is not back to normal (the partial unique
    index `uq_alarms_open` holds that for every backend process at once). `seq` counts its transitions (the
    history's numbering, and with `id` each notification's idempotency key)."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index(
            "uq_alarms_open",
            "machine_id",
            "condition",
            unique=True,
            postgresql_where=text("state <> 'normal'"),
            sqlite_where=text("state <> 'normal'"),
        ),
        Index("ix_alarms_state_priority", "state", "priority"),
        Index("ix_alarms_raised_at", "raised_at"),
        Index("ix_alarms_machine_raised", "machine_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    machine_id: Mapped[str] = mapped_column(String(128))
    condition: Mapped[str] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(_ID, nullable=True)
    priority: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    machine_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)
    line: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(_JSON)
    shelved_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_service: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int] = mapped_column(Integer, default=1)


class AlarmEventRow(Base):
    """One transition of an alarm: `kind` (contracts.alarms.Transition), the state after it, who and why."""

    __tablename__ = "alarm_events"
    __table_args__ = (
        Index("ix_alarm_events_alarm", "alarm_id", "seq"),
        Index("ix_alarm_events_ts_kind", "ts", "kind"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(_ID)
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(_JSON)
