"""The machine-type registry table: one row per type with its sensors (unit, label, operating range)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from dtwin.core.db import Base, UTCDateTime


class MachineTypeRow(Base):
    """A machine type (a "device profile"): description and sensors as one JSON document, validated by
    `MachineTypePut` on the way in. `version` grows with every change (the API's ETag). A deleted type stays
    as a tombstone (`deleted`), so seeding from the catalogue never brings back what an operator removed and
    a re-created type continues the version sequence."""

    __tablename__ = "machine_types"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    sensors: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON().with_variant(postgresql.JSONB(), "postgresql")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
