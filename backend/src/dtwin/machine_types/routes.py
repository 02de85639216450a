"""Machine-type endpoints: the registry of types with their sensors, units and operating ranges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.core.http import IfMatch, parse_if_match, require_json
from dtwin.errors import problem_responses
from dtwin.machine_types.deps import MachineTypeServiceDep
from dtwin.machine_types.schemas import (
    MACHINE_TYPE_PATTERN,
    MachineTypeList,
    MachineTypePut,
    MachineTypeRead,
)

router = APIRouter(prefix="/machine-types", tags=["machine types"])

Name = Annotated[
    str, Path(pattern=MACHINE_TYPE_PATTERN, description="The type, as in telemetry's machine_type")
]


@router.get(
    "", response_model=MachineTypeList, responses=problem_responses(422), dependencies=[allow(Role.viewer)]
)
async def list_machine_types(
    service: MachineTypeServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    cursor: Annotated[
        str | None, Query(pattern=MACHINE_TYPE_PATTERN, description="next_cursor of the previous page")
    ] = None,
) -> MachineTypeList:
    """Every registered machine type by name, with its sensors' units and operating ranges. `count` counts
    all types; follow `next_cursor` until it is null."""
    return await service.page(cursor=cursor, limit=limit)


@router.get(
    "/{name}",
    response_model=MachineTypeRead,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.viewer)],
)
async def get_machine_type(name: Name, service: MachineTypeServiceDep, response: Response) -> MachineTypeRead:
    """One machine type. The `ETag` header is its version."""
    item = await service.get(name)
    response.headers["ETag"] = f'"{item.version}"'
    return item


@router.put(
    "/{name}",
    response_model=MachineTypeRead,
    responses={
        201: {"model": MachineTypeRead, "description": "Created"},
        **problem_responses(400, 409, 412, 413, 415, 422),
    },
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def put_machine_type(
    name: Name,
    body: MachineTypePut,
    service: MachineTypeServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> MachineTypeRead:
    """Create (201, with `Location`) or replace (200) a machine type: its description and every sensor
    with unit, optional label and operating range (`lo` < `hi`; sensor names unique). The scoring engine's
    limit detector uses the new ranges from its next batch in this process and within
    `DTWIN_MACHINE_TYPES_REFRESH_S` (30 s) in the others. With `If-Match` only if the type is still at that
    version (412 otherwise). Sending the stored document again changes nothing."""
    item, created = await service.put(name, body, parse_if_match(if_match))
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/machine-types/{name}"
    response.headers["ETag"] = f'"{item.version}"'
    return item


@router.delete(
    "/{name}",
    status_code=204,
    responses=problem_responses(400, 404, 409, 412, 422),
    dependencies=[allow(Role.admin)],
)
async def delete_machine_type(
    name: Name, service: MachineTypeServiceDep, if_match: IfMatch = None
) -> Response:
    """Delete a machine type. 409 while any twin has this type (delete those twins first). Machines of a
    deleted type are still scored, without operating limits; a deleted catalogue type is not seeded again."""
    await service.delete(name, parse_if_match(if_match))
    return Response(status_code=204)
