"""The audit trail for admins: every mutating API call, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dtwin.audit.deps import AuditServiceDep
from dtwin.audit.repository import AuditFilter
from dtwin.audit.schemas import AuditList
from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.core.http import Cursor, From, PageLimit, To, before_id
from dtwin.errors import problem_responses

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditList, responses=problem_responses(422), dependencies=[allow(Role.admin)])
async def list_audit(
    service: AuditServiceDep,
    actor: Annotated[
        str | None,
        Query(max_length=128, description="A user's or API key's name or id, or `anonymous`"),
    ] = None,
    machine_id: Annotated[str | None, Query(max_length=128, description="Calls about this machine")] = None,
    method: Annotated[Literal["POST", "PUT", "PATCH", "DELETE"] | None, Query()] = None,
    status: Annotated[
        Literal["2xx", "3xx", "4xx", "5xx"] | None, Query(description="Only answers of this class")
    ] = None,
    from_: From = None,
    to: To = None,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> AuditList:
    """Every mutating call under /api/v1 (POST, PUT, PATCH, DELETE), refused ones too: who (a user, an API
    key or `anonymous`), when, the route and its parameters, the status answered, a short summary of the
    change, the client's address, user agent and the request id (`X-Request-ID` of the answer). Newest
    first; follow `next_cursor`. Entries are written just after the answer, so a call made a moment ago
    may not be listed yet. Admins only."""
    before = before_id(cursor)
    flt = AuditFilter(
        actor=actor,
        machine_id=machine_id,
        method=method,
        status_class=int(status[0]) if status else None,
        start=from_,
        end=to,
    )
    return await service.page(flt, before_id=before, limit=limit)
