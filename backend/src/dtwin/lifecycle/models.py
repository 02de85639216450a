"""What the lifecycle stores about archived days (the rollup tables and partitions are DDL-managed:
dtwin.lifecycle.refresher, dtwin.lifecycle.partitions)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime


class ArchivedDayRow(Base):
    """One UTC day of raw readings exported to the archive. state: exported (file and manifest written),
    verified (file read back and matching the database), dropped (removed from the database), restored
    (read back into the database by `dtwin archive restore`)."""

    __tablename__ = "archived_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    uri: Mapped[str] = mapped_column(Text, nullable=False)
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
