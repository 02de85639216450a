"""Twin endpoints: the fleet and one machine's live state."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field, WithJsonSchema
from starlette.convertors import Convertor, register_url_convertor

from dtwin.audit.context import note
from dtwin.auth.deps import CurrentIdentity, allow
from dtwin.auth.identity import Identity, Role
from dtwin.contracts.limits import MAX_AGGREGATES, MAX_GROUP_BY, PLACEMENT_PATTERN
from dtwin.core.http import (
    Cursor,
    From,
    IfMatch,
    MachineId,
    PageLimit,
    To,
    before_id,
    parse_if_match,
    require_json,
)
from dtwin.errors import InvalidInput, NotFound, problem_responses
from dtwin.twins.aggregate import parse_aggregates, parse_group_by
from dtwin.twins.deps import TwinServiceDep
from dtwin.twins.events import EventKind
from dtwin.twins.merge_patch import read_desired_patch
from dtwin.twins.query import ROOTS, SORT_FIELDS, QueryError, parse_comparison
from dtwin.twins.schemas import (
    MERGE_PATCH_BODY,
    AttributesUpdate,
    DesiredState,
    TwinAggregate,
    TwinCreate,
    TwinEventList,
    TwinList,
    TwinRead,
)
from dtwin.twins.service import TwinFilter

router = APIRouter(prefix="/twins", tags=["twins"])


class TwinIdConvertor(Convertor[str]):
    """`/twins/{machine_id:twin}`: any path segment but the fleet's own resources (`/twins/aggregate`), so
    routing, and the `Allow` header of a 405 there, never mixes a twin's methods into theirs."""

    regex = "(?!aggregate$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("twin", TwinIdConvertor())


def actor_label(identity: Identity) -> str:
    """Who made an operator change, as the change log stores it."""
    return f"{identity.kind}:{identity.name}"


# documented for clients (and API fuzzers); the parsers below give the precise 422 message
WHERE_PATTERN = rf"^\s*({'|'.join(ROOTS)})(\.[A-Za-z0-9_]+)+\s*(>=|<=|!=|=|>|<)\s*\S.*$"
SORT_PATTERN = rf"^[-+]?({'|'.join(SORT_FIELDS)})$"
Placement = Annotated[str | None, Query(pattern=PLACEMENT_PATTERN)]
WhereFilter = Annotated[
    str,
    Field(max_length=500),
    WithJsonSchema({"type": "string", "maxLength": 500, "pattern": WHERE_PATTERN}),
]


def fleet_filter(
    machine_type: Placement = None,
    site: Placement = None,
    line: Placement = None,
    status: Annotated[Literal["online", "stale", "offline"] | None, Query()] = None,
    health_lt: Annotated[
        float | None, Query(ge=0, le=100, description="Only twins with health below")
    ] = None,
    where: Annotated[
        list[WhereFilter] | None,
        Query(
            description="Property comparisons, repeatable: reported.temperature_c>80, "
            "attributes.vendor=ACME, desired.mode=standby (ops > >= < <= = !=)",
            max_length=50,
        ),
    ] = None,
) -> TwinFilter:
    """The fleet filters the list and the aggregation share: a twin must match every one given."""
    try:
        comparisons = tuple(parse_comparison(w) for w in where or ())
    except QueryError as exc:
        raise InvalidInput(str(exc)) from exc
    return TwinFilter(
        machine_type=machine_type, site=site, line=line, status=status, health_lt=health_lt, where=comparisons
    )


FleetFilter = Annotated[TwinFilter, Depends(fleet_filter)]


@router.get("", response_model=TwinList, responses=problem_responses(422), dependencies=[allow(Role.viewer)])
async def list_twins(
    service: TwinServiceDep,
    flt: FleetFilter,
    sort: Annotated[
        str,
        Query(
            description="Field to sort by, - prefix for descending: id, machine_type, "
            "site, line, status, last_seen, ts, version, health, anomaly_score",
            json_schema_extra={"pattern": SORT_PATTERN},
        ),
    ] = "id",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    cursor: Annotated[
        str | None,
        Query(
            max_length=1024,
            description="next_cursor of the previous page",
            json_schema_extra={"pattern": "^[A-Za-z0-9_-]*$"},
        ),
    ] = None,
) -> TwinList:
    """The fleet: twins matching every given filter, sorted, one page at a time. `count` is the number of
    matches over all pages; follow `next_cursor` until it is null."""
    return await service.list(flt, sort=sort, limit=limit, cursor=cursor)


@router.get(
    "/aggregate",
    response_model=TwinAggregate,
    responses=problem_responses(422),
    dependencies=[allow(Role.viewer)],
)
async def aggregate_twins(
    service: TwinServiceDep,
    flt: FleetFilter,
    group_by: Annotated[
        str | None,
        Query(
            max_length=500,
            description=f"Comma-separated, at most {MAX_GROUP_BY}: machine_type, site, line, status or a "
            "property path (attributes.vendor, reported.mode). None: one group, every match.",
        ),
    ] = None,
    agg: Annotated[
        str | None,
        Query(
            max_length=2000,
            description=f"Comma-separated, at most {MAX_AGGREGATES} (default count): count; "
            "count:<condition> (count:status=stale, count:reported.temperature_c>80); "
            "sum|avg|min|max|n:<field> with field health, anomaly_score, version or a property path "
            "(avg:health, max:reported.temperature_c; n: twins with a number there).",
        ),
    ] = None,
) -> TwinAggregate:
    """Fleet aggregations: the twins matching the same filters as the list, grouped by `group_by`, with
    the `agg` aggregates per group and over all matches (`total`). Answered from the in-process read
    model. Example: `?group_by=site,line&agg=count,avg:health,count:status=stale`."""
    try:
        fields, aggs = parse_group_by(group_by), parse_aggregates(agg)
    except QueryError as exc:
        raise InvalidInput(str(exc)) from exc
    return await service.aggregate(flt, fields, aggs)


@router.post(
    "",
    response_model=TwinRead,
    status_code=201,
    responses=problem_responses(400, 409, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def create_twin(
    body: TwinCreate, service: TwinServiceDep, request: Request, response: Response, who: CurrentIdentity
) -> TwinRead:
    """Register a machine ahead of its first telemetry (identity, placement and attributes). 409 if a twin
    with this id exists (machines also register themselves on first telemetry)."""
    note(request, machine_id=body.id)
    twin = await service.create(body, actor=actor_label(who))
    response.headers["Location"] = f"/api/v1/twins/{twin.id}"
    response.headers["ETag"] = f'"{twin.version}"'
    return twin


@router.put(
    "/{machine_id}/attributes",
    response_model=TwinRead,
    responses=problem_responses(400, 404, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def put_attributes(
    machine_id: MachineId,
    body: AttributesUpdate,
    service: TwinServiceDep,
    request: Request,
    who: CurrentIdentity,
) -> TwinRead:
    """Replace the twin's free-form attributes (serial number, install date, location, ...).
    `expected_interval_s` there sets how often the machine is expected to report (for its status)."""
    note(request, keys=sorted(body.attributes)[:50])
    return await service.set_attributes(machine_id, body.attributes, actor=actor_label(who))


@router.delete(
    "/{machine_id:twin}",
    status_code=204,
    responses=problem_responses(404),
    dependencies=[allow(Role.admin)],
)
async def delete_twin(
    machine_id: MachineId,
    service: TwinServiceDep,
    who: CurrentIdentity,
    purge_history: Annotated[bool, Query(description="Also delete the stored readings")] = False,
) -> Response:
    """Remove the twin. Its stored readings stay unless `purge_history=true`. A machine that keeps sending
    telemetry registers itself again."""
    await service.delete(machine_id, purge_history, actor=actor_label(who))
    return Response(status_code=204)


@router.get(
    "/{machine_id:twin}",
    response_model=TwinRead,
    responses=problem_responses(404),
    dependencies=[allow(Role.viewer)],
)
async def get_twin(machine_id: MachineId, service: TwinServiceDep, response: Response) -> TwinRead:
    """One machine's live twin. The `ETag` header is the twin's version, which increments on every change.
    404 (problem+json) if no telemetry has ever arrived for it."""
    twin = await service.get(machine_id)
    response.headers["ETag"] = f'"{twin.version}"'
    return twin


@router.get(
    "/{machine_id}/desired",
    response_model=DesiredState,
    responses=problem_responses(404),
    dependencies=[allow(Role.viewer)],
)
async def get_desired(machine_id: MachineId, service: TwinServiceDep, response: Response) -> DesiredState:
    """The desired state, its version (also the `ETag`, for `If-Match`), the `delta` still to be reported
    by the device, and the outcome of the newest command."""
    state = await service.desired(machine_id)
    response.headers["ETag"] = f'"{state.version}"'
    return state


@router.patch(
    "/{machine_id}/desired",
    response_model=DesiredState,
    openapi_extra=MERGE_PATCH_BODY,
    responses=problem_responses(400, 404, 412, 413, 415, 422, 503),
    dependencies=[allow(Role.operator)],
)
async def patch_desired(
    machine_id: MachineId,
    request: Request,
    service: TwinServiceDep,
    response: Response,
    who: CurrentIdentity,
    if_match: IfMatch = None,
) -> DesiredState:
    """Change what operators want the machine to do. The patch is applied to the desired document; with
    `If-Match` it is applied only if the desired version is unchanged (412 otherwise), so two operators cannot
    overwrite each other unknowingly. Telemetry does not change the desired version. The new desired state is
    published to Kafka `twin.desired` for the bridge to deliver; `delta` lists what the device has not
    reported yet and `command.status` stays `pending` until the device acknowledges. A twin without
    site/line (registered ahead of its telemetry) stores the change all the same and answers 200 with
    `command.status` = `awaiting_placement`: the command is sent when the machine comes online with them.
    Top-level keys are property names as devices report them; the document nests at most 5 levels and
    holds at most 16 KiB; integers must fit in 64 bits. 503 only if the command could not be handed to
    Kafka (the desired state is stored; `command.status` = `undelivered`)."""
    patch = read_desired_patch(request.headers.get("content-type", ""), await request.body())
    note(request, keys=sorted(patch)[:50])
    state = await service.patch_desired(machine_id, patch, parse_if_match(if_match), actor=actor_label(who))
    response.headers["ETag"] = f'"{state.version}"'
    return state


@router.get(
    "/{machine_id}/events",
    response_model=TwinEventList,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.viewer)],
)
async def twin_events(
    machine_id: MachineId,
    service: TwinServiceDep,
    kind: Annotated[
        list[EventKind] | None,
        Query(description="Only these kinds (repeatable)"),
    ] = None,
    from_: From = None,
    to: To = None,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> TwinEventList:
    """The twin's change log, newest first: created, attributes and desired changes, command statuses the
    platform set, device acks, status changes (online/stale/offline), reported changes summarised per
    minute, each change of the reported settings (device times), deletion. The log outlives a deleted
    twin."""
    before = before_id(cursor)
    rows = await service.events_page(
        machine_id, kinds=kind, start=from_, end=to, before_id=before, limit=limit
    )
    if not rows and cursor is None and not await service.store.exists(machine_id):
        raise NotFound(f"no twin with id {machine_id!r} and no recorded events")
    items = list(rows)
    return TwinEventList(
        machine_id=machine_id, items=items, next_cursor=str(items[-1].id) if len(items) == limit else None
    )
