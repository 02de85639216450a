"""Dependencies of the alarm routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.alarms.service import AlarmService, SensorsOf
from dtwin.alarms.stage import AlarmStage
from dtwin.contracts.alarms import NoticeOutbox
from dtwin.core.change_stream import ChangeStream
from dtwin.core.deps import AdaptersDep, SessionDep
from dtwin.errors import NotFound
from dtwin.machine_types.service import MachineTypeService
from dtwin.twins.view import FleetView


def _view(request: Request) -> FleetView | None:
    view: FleetView | None = getattr(getattr(request.app.state, "feed", None), "view", None)
    return view


def sensor_lookup(request: Request, session: AsyncSession) -> SensorsOf:
    """What a rule's scope is known to measure: the registered machine type's sensors and the readings the
    fleet's machines of that type (or the one machine) report; None when neither knows the type or machine."""

    async def sensors_of(machine_type: str | None, machine_id: str | None) -> set[str] | None:
        view = _view(request)
        twins = [] if view is None else view.all()
        if machine_id is not None:
            twin = next((t for t in twins if t["id"] == machine_id), None)
            if twin is None:
                return None
            machine_type, twins = twin.get("machine_type"), [twin]
        else:
            twins = [t for t in twins if t.get("machine_type") == machine_type]
        known: set[str] | None = None
        if machine_type:
            try:
                registered = await MachineTypeService(session).get(machine_type)
                known = {s.name for s in registered.sensors}
            except NotFound:
                pass
        if twins:
            known = (known or set()) | {k for t in twins for k in (t.get("readings") or {})}
        return known

    return sensors_of


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
        sensors_of=sensor_lookup(request, session),
    )


AlarmServiceDep = Annotated[AlarmService, Depends(get_alarm_service)]


def get_machine_types(request: Request) -> Callable[[str], list[str]]:
    """Machine ids by type, from this process's read model of the fleet (what a type-wide rule covers)."""

    def machines_of(machine_type: str) -> list[str]:
        view = _view(request)
        twins = [] if view is None else view.all()
        return sorted(t["id"] for t in twins if t.get("machine_type") == machine_type)

    return machines_of


MachinesOfType = Annotated[Callable[[str], list[str]], Depends(get_machine_types)]
