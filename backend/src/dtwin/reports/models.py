"""Report tables: definitions (what, for whom, when) and runs (one rendering of a period, its files kept in
the database: every backend can serve a download, and a backup holds them; a report is tens of kB)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = BigInteger().with_variant(Integer(), "sqlite")
_BYTES = LargeBinary().with_variant(postgresql.BYTEA(), "postgresql")


class ReportDefinitionRow(Base):
    __tablename__ = "report_definitions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(8))
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period: Mapped[str] = mapped_column(String(16))
    schedule: Mapped[str | None] = mapped_column(String(128), nullable=True)
    recipients: Mapped[list[str]] = mapped_column(_JSON)
    formats: Mapped[list[str]] = mapped_column(_JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128), default="system")


class ReportRunRow(Base):
    """One run: of a definition (`definition_id`; `scheduled_for` set when the schedule started it: the
    unique (definition_id, scheduled_for) lets exactly one backend claim a due run) or ad hoc (no
    definition; `spec` holds what was asked either way)."""

    __tablename__ = "report_runs"
    __table_args__ = (
        Index("uq_report_runs_scheduled", "definition_id", "scheduled_for", unique=True),
        Index("ix_report_runs_created", "created_at"),
        Index(
            "ix_report_runs_running",
            "lease_until",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    definition_id: Mapped[int | None] = mapped_column(
        _ID, ForeignKey("report_definitions.id", ondelete="SET NULL"), nullable=True
    )
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(_JSON)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # running, succeeded, failed
    has_data: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(_JSON)
    pdf: Mapped[bytes | None] = mapped_column(_BYTES, nullable=True, deferred=True)
    csv: Mapped[bytes | None] = mapped_column(_BYTES, nullable=True, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    emailed_to: Mapped[list[str]] = mapped_column(_JSON)
    email_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, api, cli
    # while running: until when the runner holds it (renewed as it works); past it, the runner is gone
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
