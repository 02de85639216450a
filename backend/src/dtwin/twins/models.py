"""Durable twin tables: the change log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")


class TwinRow(Base):
    """The durable part of a twin: identity, placement, attributes and desired state (the live reported
    state is in Redis and the readings table)."""

    __tablename__ = "twins"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    machine_type: Mapped[str] = mapped_column(String(64), default="unknown")
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)
    line: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    desired: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    desired_version: Mapped[int] = mapped_column(Integer, default=0)
    # the newest command's outcome: {"version", "status", "applied", "rejected", "at"} (None: never commanded)
    command: Mapped[dict[str, Any] | None] = mapped_column(_JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TwinEventRow(Base):
    __tablename__ = "twin_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    machine_id: Mapped[str] = mapped_column(String(128), index=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    # the twin's version (13 digits: TwinStore.version_floor)
    version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(postgresql.JSONB(), "postgresql"))
    # who: `user:<name>`, `api_key:<name>`, `anonymous` (operator changes), `device`, `system`
    actor: Mapped[str | None] = mapped_column(String(160), nullable=True)
