"""The readings table: one row per sensor value. Primary key (machine_id, sensor, ts) makes redelivery
idempotent and serves per-machine range queries; a hypertable on ts when TimescaleDB is present."""

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
