"""Dependencies of the lifecycle routes (and of the readings routes, for the archive)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dtwin.errors import Unavailable
from dtwin.lifecycle.service import LifecycleService


def get_lifecycle_or_none(request: Request) -> LifecycleService | None:
    service: LifecycleService | None = getattr(request.app.state, "lifecycle", None)
    return service


def get_lifecycle(request: Request) -> LifecycleService:
    service = get_lifecycle_or_none(request)
    if service is None:
        raise Unavailable("the data lifecycle is not running in this process")
    return service


MaybeLifecycleDep = Annotated[LifecycleService | None, Depends(get_lifecycle_or_none)]
LifecycleDep = Annotated[LifecycleService, Depends(get_lifecycle)]
