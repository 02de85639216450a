"""Dependencies of the machine-type routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dtwin.core.deps import AdaptersDep, SessionDep
from dtwin.machine_types.ranges import OperatingRanges
from dtwin.machine_types.service import MachineTypeService
from dtwin.twins.store import TwinStore


def get_machine_type_service(
    request: Request, session: SessionDep, adapters: AdaptersDep
) -> MachineTypeService:
    ranges: OperatingRanges | None = getattr(request.app.state, "machine_type_ranges", None)
    return MachineTypeService(session, TwinStore(adapters.redis, adapters.keys), ranges)


MachineTypeServiceDep = Annotated[MachineTypeService, Depends(get_machine_type_service)]
