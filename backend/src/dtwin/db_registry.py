"""Imports every model so Alembic and metadata.create_all know all tables."""

from dtwin.core.db import Base
from dtwin.readings.models import ReadingRow
from dtwin.twins.models import TwinEventRow, TwinRow

__all__ = ["Base", "ReadingRow", "TwinEventRow", "TwinRow"]
