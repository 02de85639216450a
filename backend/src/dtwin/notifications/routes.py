"""Notification endpoints: routing rules (admins), the outbox's messages (viewers) and retrying a dead one
(operators). The routing-rule paths come first: `/notifications/routes` is not a notification id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from dtwin.auth.deps import AdminIdentity, allow
from dtwin.auth.identity import Role
from dtwin.core.http import Cursor, PageLimit, before_id, require_json
from dtwin.errors import problem_responses
from dtwin.notifications.deps import NotificationServiceDep
from dtwin.notifications.repository import OutboxFilter
from dtwin.notifications.schemas import (
    Kind,
    NotificationList,
    NotificationRead,
    RouteIn,
    RouteList,
    RouteRead,
    Status,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])

RouteId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The routing rule's id")]
NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The notification's id")]
BODY_ERRORS = (400, 413, 415, 422)


@router.get(
    "/routes", response_model=RouteList, responses=problem_responses(422), dependencies=[allow(Role.admin)]
)
async def list_routes(service: NotificationServiceDep) -> RouteList:
    """Every routing rule, by tier and name (admins). Secrets are never returned: `has_secret`."""
    return await service.list_routes()


@router.post(
    "/routes",
    status_code=201,
    response_model=RouteRead,
    responses=problem_responses(409, *BODY_ERRORS),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def create_route(body: RouteIn, service: NotificationServiceDep, response: Response) -> RouteRead:
    """Add a routing rule (admins): which alarms (`min_priority`, `sites`, `lines`, `machine_types`,
    `transitions`) go to whom (`channel` email, webhook or sms, `targets`), quiet hours, tier and
    escalation delay. 409 if the name is taken; 422 names any invalid field (an email address, a URL that
    is not https, an unknown priority, time zone or template placeholder, a delay below 1 s)."""
    route = await service.create_route(body)
    response.headers["Location"] = f"/api/v1/notifications/routes/{route.id}"
    return route


@router.get(
    "/routes/{route_id}",
    response_model=RouteRead,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.admin)],
)
async def get_route(route_id: RouteId, service: NotificationServiceDep) -> RouteRead:
    """One routing rule (admins)."""
    return await service.get_route(route_id)


@router.put(
    "/routes/{route_id}",
    response_model=RouteRead,
    responses=problem_responses(404, 409, *BODY_ERRORS),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def replace_route(route_id: RouteId, body: RouteIn, service: NotificationServiceDep) -> RouteRead:
    """Replace a routing rule (admins). `secret` left out keeps the stored secret, `null` removes it.
    Disabling a rule cancels its messages that have not gone out; other changes apply to messages made
    from now on (a dead message retried goes to the rule's current target)."""
    return await service.replace_route(route_id, body)


@router.delete(
    "/routes/{route_id}",
    status_code=204,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.admin)],
)
async def delete_route(route_id: RouteId, service: NotificationServiceDep) -> Response:
    """Delete a routing rule (admins); its messages that have not gone out are cancelled, the others stay
    listed."""
    await service.delete_route(route_id)
    return Response(status_code=204)


@router.post(
    "/routes/{route_id}/test",
    status_code=202,
    response_model=NotificationRead,
    responses=problem_responses(404, *BODY_ERRORS),
    dependencies=[allow(Role.admin)],
)
async def test_route(
    route_id: RouteId, service: NotificationServiceDep, identity: AdminIdentity
) -> NotificationRead:
    """Send a test message through the rule now, ignoring its filters and quiet hours (admins). Accepted
    into the outbox: follow it with GET /notifications/{id}. In embedded mode an email lands as an .eml
    file in the data directory's `mail/`."""
    return await service.send_test(route_id, identity.name)


@router.get(
    "", response_model=NotificationList, responses=problem_responses(422), dependencies=[allow(Role.viewer)]
)
async def list_notifications(
    service: NotificationServiceDep,
    status: Annotated[Status | None, Query(description="Only messages in this state")] = None,
    alarm_id: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Only this alarm's")] = None,
    route_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this rule's")] = None,
    kind: Annotated[Kind | None, Query(description="Only messages of this kind")] = None,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> NotificationList:
    """The outbox, newest first: every message made for an alarm transition, an escalation, a digest or
    a test, with its state, attempts, next attempt (or lease end while sending) and last error. Follow
    `next_cursor`."""
    flt = OutboxFilter(status=status, alarm_id=alarm_id, route_id=route_id, kind=kind)
    return await service.page(flt, before_id=before_id(cursor), limit=limit)


@router.get(
    "/{notification_id}",
    response_model=NotificationRead,
    responses=problem_responses(404, 422),
    dependencies=[allow(Role.viewer)],
)
async def get_notification(
    notification_id: NotificationId, service: NotificationServiceDep
) -> NotificationRead:
    """One message of the outbox."""
    return await service.get(notification_id)


@router.post(
    "/{notification_id}/retry",
    response_model=NotificationRead,
    responses=problem_responses(404, 409, *BODY_ERRORS),
    dependencies=[allow(Role.operator)],
)
async def retry_notification(
    notification_id: NotificationId, service: NotificationServiceDep
) -> NotificationRead:
    """Send a dead message again now, attempts counted afresh, to its rule's current target (operators and
    admins). 409 unless it is dead."""
    return await service.retry(notification_id)
