"""The data-quality tables: hourly counts per machine and rule, data-gap events, each device's clock
offset."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

# the machine id of counts no machine can be given (duplicates: the database counts them per batch)
FLEET = ""


class DataQualityCountRow(Base):
    """How often a rule fired for a machine in one hour (the hour it was observed in), summed over every
    backend process: each adds its own counts (`count = count + n`) when it flushes."""

    __tablename__ = "data_quality_counts"

    machine_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    rule: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), nullable=False)

    __table_args__ = (Index("ix_data_quality_counts_hour", "hour"),)


class DataGapRow(Base):
    """A gap in a machine's telemetry: no message between `start` and `end` (device time, the messages
    around it), recorded when the machine resumed."""

    __tablename__ = "data_gaps"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    machine_id: Mapped[str] = mapped_column(String(128), nullable=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    seconds: Mapped[float] = mapped_column(Float, nullable=False)

    __table_args__ = (
        Index("ix_data_gaps_machine_end", "machine_id", "end"),
        Index("ix_data_gaps_end", "end"),
    )


class ClockOffsetRow(Base):
    """A device's latest clock-offset estimate (receive time - device time, seconds; positive: the device
    clock is behind), from the backend process that consumes the machine."""

    __tablename__ = "data_quality_clock"

    machine_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    offset_s: Mapped[float] = mapped_column(Float, nullable=False)
    samples: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
