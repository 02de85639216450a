"""The twins room's request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dtwin.twins.service import TwinService


def get_twin_service(request: Request) -> TwinService:
    """The process's one TwinService, built with its collaborators in the lifespan (`main.Services`)."""
    service: TwinService = request.app.state.services.twins
    return service


TwinServiceDep = Annotated[TwinService, Depends(get_twin_service)]
