"""Records every mutating call under /api/v1 (POST, PUT, PATCH, DELETE; not a POST its route marks as a
read, like a desired-state dry run, which changes nothing) once its response has been sent:
a pure ASGI middleware that reads the route template, path parameters, status and the actor the request
resolved, and hands an entry to the AuditRecorder on app.state (it never waits for the database). Each such
response carries its request id in `X-Request-ID`."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dtwin.audit.context import ACTOR_KEY, DETAILS_KEY, Actor
from dtwin.audit.service import AuditRecorder, PendingEntry
from dtwin.core.http import header_credential, route_template
from dtwin.core.ratelimit import RATE_CLASS_ATTR, RouteClass

log = structlog.get_logger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFIX = "/api/v1/"
USER_AGENT_CHARS = 200
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _marked_read(scope: Scope) -> bool:
    """A POST that only reads (its route is rate-limited as a read: a dry run) is no change to audit."""
    endpoint = getattr(scope.get("route"), "endpoint", None)
    return getattr(endpoint, RATE_CLASS_ATTR, None) == RouteClass.read.value


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # unless a response starts: an exception the error middleware answers with 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            try:
                self._submit(scope, headers, state, status, request_id)
            except Exception:  # auditing must never break the call
                log.exception("audit_entry_not_built", request_id=request_id)

    def _submit(
        self, scope: Scope, headers: Headers, state: dict[str, Any], status: int, request_id: str
    ) -> None:
        app = scope.get("app")
        recorder: AuditRecorder | None = getattr(getattr(app, "state", None), "audit", None)
        if recorder is None or _marked_read(scope):
            return
        template = route_template(scope)
        params = {k: str(v)[:128] for k, v in (scope.get("path_params") or {}).items()}
        details = dict(state.get(DETAILS_KEY) or {})
        machine_id = params.get("machine_id") or details.get("machine_id")
        actor: Actor | None = state.get(ACTOR_KEY)
        credential = header_credential(headers) if actor is None else None
        client = scope.get("client")
        agent = headers.get("user-agent")
        recorder.submit(
            PendingEntry(
                ts=datetime.now(UTC),
                method=scope["method"],
                route=template,
                path_params=params,
                machine_id=str(machine_id)[:128] if machine_id else None,
                status=status,
                client_ip=str(client[0])[:64] if client else None,
                user_agent=agent[:USER_AGENT_CHARS] if agent else None,
                request_id=request_id,
                details=details,
                actor=actor,
                credential=credential,
            )
        )
