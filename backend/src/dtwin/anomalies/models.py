"""Stored anomaly events and strategy decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = BigInteger().with_variant(Integer(), "sqlite")


class AnomalyEventRow(Base):
    __tablename__ = "anomaly_events"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    machine_id: Mapped[str] = mapped_column(String(128))
    machine_type: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[float] = mapped_column(Float)
    peak_score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    detector: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(_JSON)


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    machine_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    strategy: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    risk: Mapped[float] = mapped_column(Float)
    opportunity: Mapped[float] = mapped_column(Float)
    stability: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(_JSON)
