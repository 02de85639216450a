"""Dependencies of the data-quality routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtwin.core.deps import SessionDep, SettingsDep
from dtwin.data_quality.schemas import DataQualityRules
from dtwin.data_quality.service import DataQualityService


def get_data_quality_service(session: SessionDep, settings: SettingsDep) -> DataQualityService:
    rules = DataQualityRules(
        enabled=settings.data_quality_enabled,
        gap_factor=settings.data_quality_gap_factor,
        gap_floor_s=settings.data_quality_gap_floor_s,
        lateness_s=settings.data_quality_lateness_s,
        clock_offset_threshold_s=settings.data_quality_clock_threshold_s,
        clock_correction=settings.data_quality_clock_correction,
    )
    return DataQualityService(session, rules)


DataQualityServiceDep = Annotated[DataQualityService, Depends(get_data_quality_service)]
