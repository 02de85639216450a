"""The twins room's request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtwin.core.deps import AdaptersDep
from dtwin.twins.events import TwinEventLog
from dtwin.twins.service import TwinService
from dtwin.twins.store import TwinStore


def get_twin_service(adapters: AdaptersDep) -> TwinService:
    s = adapters.settings
    return TwinService(
        TwinStore(adapters.redis, adapters.keys, s.ws_replay_entries),
        adapters.bus,
        s.topic_desired,
        s.twin_expected_interval_s,
        TwinEventLog(adapters.sessions),
        adapters.durable,
        adapters.view,
    )


TwinServiceDep = Annotated[TwinService, Depends(get_twin_service)]
