"""API schemas of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    """One mutating call: who (`actor_kind` user, api_key or anonymous; the user's or key's id and name),
    when, what (method, route template, its path parameters, the machine concerned, the status answered,
    a compact summary in `details`; never a body, password, token or key), from where and its request id."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: datetime
    actor_kind: Literal["user", "api_key", "anonymous"]
    actor_id: str | None
    actor_name: str
    method: str
    route: str
    path_params: dict[str, Any]
    machine_id: str | None
    status: int
    client_ip: str | None
    user_agent: str | None
    request_id: str
    details: dict[str, Any]


class AuditList(BaseModel):
    """A page of the audit trail, newest first; pass `next_cursor` as `cursor` for the next (null: last)."""

    items: list[AuditEntryRead]
    next_cursor: str | None = None
