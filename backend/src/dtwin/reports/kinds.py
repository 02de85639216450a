"""Each report kind's gatherer: the extension point of a new kind (a gatherer, and the kind added to
schemas.Kind and gather.TITLES)."""

from __future__ import annotations

from dtwin.reports.energy import energy
from dtwin.reports.gather import Gatherer, data_quality, maintenance

GATHERERS: dict[str, Gatherer] = {"maintenance": maintenance, "data_quality": data_quality, "energy": energy}
