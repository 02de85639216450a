"""`readings`: one row per sensor value, as every reader sees it. A table on SQLite and TimescaleDB (primary
key (machine_id, sensor, ts) makes redelivery idempotent and serves per-machine range queries; a hypertable
on ts with TimescaleDB); on plain PostgreSQL a read-only view over `reading_rows`, one row per
machine-instant (migration 0020, written by dtwin.readings.wide)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime


class ReadingRow(Base):
    __tablename__ = "readings"

    machine_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sensor: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    quality: Mapped[str] = mapped_column(String(10), nullable=False, default="good")
