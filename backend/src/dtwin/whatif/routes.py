"""What-if endpoints: a desired change tried without being made."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.core.http import MachineId
from dtwin.core.ratelimit import RouteClass, rate_class
from dtwin.errors import problem_responses
from dtwin.twins.merge_patch import read_desired_patch
from dtwin.twins.schemas import MERGE_PATCH_BODY
from dtwin.whatif.deps import DryRunServiceDep
from dtwin.whatif.schemas import DryRun

router = APIRouter(prefix="/twins", tags=["twins"])


@router.post(
    "/{machine_id}/desired/dry-run",
    response_model=DryRun,
    openapi_extra=MERGE_PATCH_BODY,
    responses=problem_responses(400, 404, 413, 415, 422),
    dependencies=[allow(Role.viewer)],
)
@rate_class(RouteClass.read)
async def dry_run_desired(machine_id: MachineId, request: Request, service: DryRunServiceDep) -> DryRun:
    """What `PATCH /twins/{id}/desired` with this body would do, without doing it: nothing is stored, sent
    to the device or logged, and the desired version stays. Same body and content types as the PATCH.
    422 (problem+json, `errors` naming each field as `["body", "<setting>"]`) for a setting the machine type
    does not have (or, for a type outside the catalogue, that the device never reported), a value that is
    not a number (or not a mode: on, standby, off), or a number outside the type's range. The answer: the
    would-be desired document and version, the delta, the settings it moves, conflicts (a command the
    device has not answered, a setting this device never reported) and the predicted steady state of every
    sensor the change moves — value and 95% interval, learned from the machine's own history of settings
    and steady readings (`history_regression`), or its type's fleet (`fleet_regression`), or
    `insufficient_history` with the reason — whether it would leave its operating range or trip an alarm
    rule, and the health it would settle at."""
    patch = read_desired_patch(request.headers.get("content-type", ""), await request.body())
    return await service.dry_run(machine_id, patch)
