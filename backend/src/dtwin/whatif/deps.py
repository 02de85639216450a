"""The what-if room's request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtwin.core.deps import SessionDep
from dtwin.twins.deps import TwinServiceDep
from dtwin.whatif.service import DryRunService


def get_dry_run_service(twins: TwinServiceDep, session: SessionDep) -> DryRunService:
    return DryRunService(twins, session)


DryRunServiceDep = Annotated[DryRunService, Depends(get_dry_run_service)]
