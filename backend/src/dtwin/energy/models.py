"""The energy room's tables: tariffs (one per scope: a site, or the fleet default) and their versions.
A version's seasons and bands are one JSON document: they are always written and read whole, and
validated by the API's schemas (schemas.TariffVersionIn) before they are stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime

FLEET_SCOPE = "*"  # the scope of the fleet-wide default tariff (a site name never starts with '*')
ID = BigInteger().with_variant(Integer(), "sqlite")
DOCUMENT = JSON().with_variant(postgresql.JSONB(), "postgresql")


class TariffRow(Base):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class TariffVersionRow(Base):
    __tablename__ = "tariff_versions"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    tariff_id: Mapped[int] = mapped_column(ID, ForeignKey("tariffs.id", ondelete="CASCADE"), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    price_per_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    seasons: Mapped[list[dict[str, Any]] | None] = mapped_column(DOCUMENT, nullable=True)

    __table_args__ = (Index("ix_tariff_versions_tariff_from", "tariff_id", "valid_from"),)
