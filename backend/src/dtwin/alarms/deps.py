"""Dependencies of the alarm routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from dtwin.alarms.service import AlarmService
from dtwin.alarms.stage import AlarmStage
from dtwin.contracts.alarms import NoticeOutbox
from dtwin.core.change_stream import ChangeStream
from dtwin.core.deps import AdaptersDep, SessionDep
from dtwin.twins.view import FleetView


def get_alarm_service(request: Request, session: SessionDep, adapters: AdaptersDep) -> AlarmService:
    """The request's unit of work on alarms, with the process's notifications outbox (if any) and the
    suppression the alarms stage tracks (if scoring runs here)."""
    outbox: NoticeOutbox | None = getattr(request.app.state, "notice_outbox", None)
    stage: AlarmStage | None = getattr(request.app.state, "alarm_stage", None)
    changes = ChangeStream(adapters.redis, adapters.keys, adapters.settings.ws_replay_entries)
    return AlarmService(
        session,
        outbox=outbox,
        changes=changes,
        suppressed=None if stage is None else stage.is_suppressed,
    )


AlarmServiceDep = Annotated[AlarmService, Depends(get_alarm_service)]


def get_machine_types(request: Request) -> Callable[[str], list[str]]:
    """Machine ids by type, from this process's read model of the fleet (what a type-wide rule covers)."""

    def machines_of(machine_type: str) -> list[str]:
        view: FleetView | None = getattr(getattr(request.app.state, "feed", None), "view", None)
        twins = [] if view is None else view.all()
        return sorted(t["id"] for t in twins if t.get("machine_type") == machine_type)

    return machines_of


MachinesOfType = Annotated[Callable[[str], list[str]], Depends(get_machine_types)]
