"""Dependencies of the energy routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtwin.core.deps import SessionDep, SettingsDep
from dtwin.energy.service import EnergyService
from dtwin.lifecycle.deps import MaybeLifecycleDep
from dtwin.twins.deps import TwinServiceDep


def get_energy_service(
    session: SessionDep, settings: SettingsDep, twins: TwinServiceDep, lifecycle: MaybeLifecycleDep
) -> EnergyService:
    return EnergyService(session, twins, lifecycle, settings.plant_tz)


EnergyServiceDep = Annotated[EnergyService, Depends(get_energy_service)]
