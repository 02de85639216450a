"""Alarm endpoints: the alarm list and each alarm's history, the operator's actions (acknowledge, shelve,
unshelve, out of service, comment; bulk acknowledge) and the threshold rules (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from dtwin.alarms.deps import AlarmServiceDep, MachinesOfType
from dtwin.alarms.schemas import (
    AckBody,
    AlarmDetail,
    AlarmList,
    AlarmRead,
    AlarmReports,
    AlarmRuleIn,
    AlarmRuleList,
    AlarmRuleRead,
    AlarmSummary,
    BulkAckBody,
    BulkAckResult,
    CommentBody,
    RulePreview,
    RulePreviewIn,
    ShelveBody,
)
from dtwin.auth.deps import CurrentIdentity, allow
from dtwin.auth.identity import Identity, Role
from dtwin.contracts.alarms import AlarmState, Priority, Source
from dtwin.contracts.limits import MACHINE_ID_PATTERN, MAX_REPORT_HOURS, PLACEMENT_PATTERN
from dtwin.core.http import IfMatch, parse_if_match, require_json
from dtwin.errors import problem_responses

router = APIRouter(prefix="/alarms", tags=["alarms"])
rules_router = APIRouter(prefix="/alarm-rules", tags=["alarms"])

AlarmId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RuleId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Placement = Annotated[str | None, Query(pattern=PLACEMENT_PATTERN)]


def actor(identity: Identity) -> str:
    return f"{identity.kind}:{identity.name}"


@router.get("", response_model=AlarmList, responses=problem_responses(422), dependencies=[allow(Role.viewer)])
async def list_alarms(
    service: AlarmServiceDep,
    state: Annotated[list[AlarmState] | None, Query(description="Any of these states (repeat)")] = None,
    priority: Annotated[list[Priority] | None, Query(description="Any of these priorities (repeat)")] = None,
    machine_id: Annotated[str | None, Query(pattern=MACHINE_ID_PATTERN)] = None,
    machine_type: Placement = None,
    site: Placement = None,
    line: Placement = None,
    source: Source | None = None,
    hidden: Annotated[
        bool | None,
        Query(description="true: only shelved, suppressed or out-of-service alarms; false: only the others"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=1, description="next_cursor of the previous page")] = None,
) -> AlarmList:
    """Alarms, newest first, filtered. Open alarms: `state=unack_active&state=ack_active&state=unack_cleared`.
    Follow `next_cursor` for older ones."""
    return await service.page(
        limit=limit,
        cursor=cursor,
        states=state,
        priorities=priority,
        machine_id=machine_id,
        machine_type=machine_type,
        site=site,
        line=line,
        source=source,
        hidden=hidden,
    )


@router.get("/summary", response_model=AlarmSummary, dependencies=[allow(Role.viewer)])
async def alarm_summary(service: AlarmServiceDep) -> AlarmSummary:
    """Counts of open alarms (the dashboard's badge)."""
    return await service.summary()


@router.get(
    "/reports",
    response_model=AlarmReports,
    responses=problem_responses(422),
    dependencies=[allow(Role.viewer)],
)
async def alarm_reports(
    service: AlarmServiceDep,
    hours: Annotated[
        float, Query(gt=0, le=MAX_REPORT_HOURS, description="The period: the last N hours")
    ] = 24.0,
    site: Placement = None,
) -> AlarmReports:
    """Alarm-management figures (ISA-18.2): alarms per 10 minutes per site with the flood threshold (more
    than 10), the ten most frequent alarms, and chattering alarms (3 or more activations within 60 s)."""
    return await service.reports(hours, site)


@router.post(
    "/ack",
    response_model=BulkAckResult,
    responses=problem_responses(400, 413, 415, 422),
    dependencies=[allow(Role.operator), Depends(require_json)],
)
async def acknowledge_alarms(
    body: BulkAckBody, service: AlarmServiceDep, who: CurrentIdentity
) -> BulkAckResult:
    """Acknowledge several alarms with one comment; those that cannot be (already acknowledged, unknown) are
    listed in `skipped` with why."""
    return await service.acknowledge_many(body.ids, actor(who), body.comment)


@router.get(
    "/{alarm_id:int}",
    response_model=AlarmDetail,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.viewer)],
)
async def get_alarm(alarm_id: AlarmId, service: AlarmServiceDep) -> AlarmDetail:
    """One alarm with its whole history (every transition with who, when and the comment)."""
    return await service.get(alarm_id)


@router.post(
    "/{alarm_id:int}/ack",
    response_model=AlarmRead,
    responses=problem_responses(400, 404, 409, 413, 415, 422),
    dependencies=[allow(Role.operator), Depends(require_json)],
)
async def acknowledge_alarm(
    alarm_id: AlarmId, body: AckBody, service: AlarmServiceDep, who: CurrentIdentity
) -> AlarmRead:
    """Acknowledge: an active alarm becomes `ack_active`; one already back to normal closes. 409 when it was
    acknowledged already."""
    return await service.acknowledge(alarm_id, actor(who), body.comment)


@router.post(
    "/{alarm_id:int}/shelve",
    response_model=AlarmRead,
    responses=problem_responses(400, 404, 409, 413, 415, 422),
    dependencies=[allow(Role.operator), Depends(require_json)],
)
async def shelve_alarm(
    alarm_id: AlarmId, body: ShelveBody, service: AlarmServiceDep, who: CurrentIdentity
) -> AlarmRead:
    """Shelve an open alarm for `duration_s` (at most 7 days) with a reason: hidden from the default list and
    from notifications meanwhile, unshelved by itself when the time is up."""
    return await service.shelve(alarm_id, actor(who), body.duration_s, body.reason)


@router.post(
    "/{alarm_id:int}/unshelve",
    response_model=AlarmRead,
    responses=problem_responses(400, 404, 409, 413, 415, 422),
    dependencies=[allow(Role.operator), Depends(require_json)],
)
async def unshelve_alarm(
    alarm_id: AlarmId, body: AckBody, service: AlarmServiceDep, who: CurrentIdentity
) -> AlarmRead:
    """End a shelving early."""
    return await service.unshelve(alarm_id, actor(who), body.comment)


@router.post(
    "/{alarm_id:int}/out-of-service",
    response_model=AlarmRead,
    responses=problem_responses(400, 404, 409, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def remove_from_service(
    alarm_id: AlarmId, body: AckBody, service: AlarmServiceDep, who: CurrentIdentity
) -> AlarmRead:
    """Take an open alarm out of service (a broken sensor being repaired): kept, not shown, not notified."""
    return await service.set_out_of_service(alarm_id, actor(who), True, body.comment)


@router.post(
    "/{alarm_id:int}/in-service",
    response_model=AlarmRead,
    responses=problem_responses(400, 404, 409, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def return_to_service(
    alarm_id: AlarmId, body: AckBody, service: AlarmServiceDep, who: CurrentIdentity
) -> AlarmRead:
    """Put an alarm back in service."""
    return await service.set_out_of_service(alarm_id, actor(who), False, body.comment)


@router.post(
    "/{alarm_id:int}/comment",
    response_model=AlarmRead,
    responses=problem_responses(400, 404, 413, 415, 422),
    dependencies=[allow(Role.operator), Depends(require_json)],
)
async def comment_alarm(
    alarm_id: AlarmId, body: CommentBody, service: AlarmServiceDep, who: CurrentIdentity
) -> AlarmRead:
    """Add a comment to an alarm's history (no state change, no notification)."""
    return await service.comment(alarm_id, actor(who), body.comment)


# ------------------------------------------------------------------ threshold rules
@rules_router.get(
    "", response_model=AlarmRuleList, responses=problem_responses(422), dependencies=[allow(Role.viewer)]
)
async def list_rules(
    service: AlarmServiceDep,
    machine_type: Placement = None,
    machine_id: Annotated[str | None, Query(pattern=MACHINE_ID_PATTERN)] = None,
) -> AlarmRuleList:
    """Threshold rules (all, or those of one machine type or machine)."""
    return await service.rules(machine_type, machine_id)


@rules_router.post(
    "",
    response_model=AlarmRuleRead,
    status_code=201,
    responses=problem_responses(400, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def create_rule(
    body: AlarmRuleIn, service: AlarmServiceDep, who: CurrentIdentity, response: Response
) -> AlarmRuleRead:
    """A new threshold rule. Every backend evaluates it within `DTWIN_ALARM_RULES_REFRESH_S` (5 s)."""
    rule = await service.create_rule(body, actor(who))
    response.headers["Location"] = f"/api/v1/alarm-rules/{rule.id}"
    response.headers["ETag"] = f'"{rule.version}"'
    return rule


@rules_router.post(
    "/preview",
    response_model=RulePreview,
    responses=problem_responses(400, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def preview_rule(
    body: RulePreviewIn, service: AlarmServiceDep, machines_of: MachinesOfType
) -> RulePreview:
    """Replay a draft rule over the stored readings of the last `days` (every machine of its type, its one
    machine, or `machine_ids`): how many alarms it would have raised, their episodes and how many of them
    chatter. Nothing is saved. At most 1,000,000 readings (422 with the count beyond that: fewer days, or
    name machines)."""
    r = body.rule
    if body.machine_ids is not None:
        machines = body.machine_ids
    elif r.machine_id is not None:
        machines = [r.machine_id]
    else:
        machines = machines_of(r.machine_type or "")
    return await service.preview(body, machines)


@rules_router.get(
    "/{rule_id:int}",
    response_model=AlarmRuleRead,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.viewer)],
)
async def get_rule(rule_id: RuleId, service: AlarmServiceDep, response: Response) -> AlarmRuleRead:
    rule = await service.rule(rule_id)
    response.headers["ETag"] = f'"{rule.version}"'
    return rule


@rules_router.put(
    "/{rule_id:int}",
    response_model=AlarmRuleRead,
    responses=problem_responses(400, 404, 412, 413, 415, 422),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def replace_rule(
    rule_id: RuleId,
    body: AlarmRuleIn,
    service: AlarmServiceDep,
    who: CurrentIdentity,
    response: Response,
    if_match: IfMatch = None,
) -> AlarmRuleRead:
    """Replace a rule (a new version; with `If-Match` only if it is still at that version: 412 otherwise)."""
    rule = await service.replace_rule(rule_id, body, actor(who), parse_if_match(if_match))
    response.headers["ETag"] = f'"{rule.version}"'
    return rule


@rules_router.delete(
    "/{rule_id:int}",
    status_code=204,
    responses=problem_responses(400, 404, 412, 422),
    dependencies=[allow(Role.admin)],
)
async def delete_rule(
    rule_id: RuleId, service: AlarmServiceDep, who: CurrentIdentity, if_match: IfMatch = None
) -> Response:
    """Delete a rule. Its active alarms clear within `DTWIN_ALARM_RULES_REFRESH_S` (nothing evaluates them
    any more); unacknowledged ones still wait for an acknowledgement."""
    await service.delete_rule(rule_id, actor(who), parse_if_match(if_match))
    return Response(status_code=204)
