"""Twin endpoints: the fleet and one machine's live state."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request, Response

from dtwin.api.deps import TwinServiceDep
from dtwin.errors import BadRequest, InvalidInput, UnsupportedMediaType, problem_responses
from dtwin.twins.schemas import DesiredState, TwinList, TwinRead
from dtwin.twins.service import MAX_DESIRED_BYTES

router = APIRouter(prefix="/twins", tags=["twins"])


@router.get("", response_model=TwinList)
async def list_twins(service: TwinServiceDep) -> TwinList:
    """Every known machine with its latest reported values (from the live state in Redis)."""
    return await service.list()


@router.get("/{machine_id}", response_model=TwinRead, responses=problem_responses(404))
async def get_twin(machine_id: str, service: TwinServiceDep, response: Response) -> TwinRead:
    """One machine's live twin. The `ETag` header is the twin's version, which increments on every change.
    404 (problem+json) if no telemetry has ever arrived for it."""
    twin = await service.get(machine_id)
    response.headers["ETag"] = f'"{twin.version}"'
    return twin


def _parse_if_match(value: str | None) -> int | None:
    """`"7"`, `W/"7"`, `7` -> 7; absent or `*` -> None (no precondition)."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise BadRequest(f"If-Match must be a version number as given in the ETag header, not {value!r}")
    return int(tag)


@router.get("/{machine_id}/desired", response_model=DesiredState, responses=problem_responses(404))
async def get_desired(machine_id: str, service: TwinServiceDep, response: Response) -> DesiredState:
    """The desired state, its version (also the `ETag`, for `If-Match`), the `delta` still to be reported
    by the device, and the outcome of the newest command."""
    state = await service.desired(machine_id)
    response.headers["ETag"] = f'"{state.version}"'
    return state


_MERGE_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "RFC 7396 JSON merge patch: members replace, null deletes, objects merge.",
        "content": {
            "application/merge-patch+json": {"schema": {"type": "object"}, "example": {"mode": "standby"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.patch(
    "/{machine_id}/desired",
    response_model=DesiredState,
    openapi_extra=_MERGE_PATCH_BODY,
    responses=problem_responses(400, 404, 412, 415, 422, 503),
)
async def patch_desired(
    machine_id: str,
    request: Request,
    service: TwinServiceDep,
    response: Response,
    if_match: Annotated[str | None, Header(description="Desired version the change is based on")] = None,
) -> DesiredState:
    """Change what operators want the machine to do. The patch is applied to the desired document; with
    `If-Match` it is applied only if the desired version is unchanged (412 otherwise), so two operators cannot
    overwrite each other unknowingly. Telemetry does not change the desired version. The new desired state is
    published to Kafka `twin.desired` for the bridge to deliver; `delta` lists what the device has not
    reported yet and `command.status` stays `pending` until the device acknowledges."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype not in ("application/merge-patch+json", "application/json"):
        raise UnsupportedMediaType("send the patch as application/merge-patch+json (or application/json)")
    body = await request.body()
    if len(body) > MAX_DESIRED_BYTES:
        raise InvalidInput(f"patch larger than {MAX_DESIRED_BYTES} bytes")
    try:
        patch = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"patch is not valid JSON: {exc}") from exc
    state = await service.patch_desired(machine_id, patch, _parse_if_match(if_match))
    response.headers["ETag"] = f'"{state.version}"'
    return state
