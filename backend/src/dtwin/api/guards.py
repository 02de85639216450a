"""Checks every /api/v1 request passes before its handler's own parameters are read: no query parameter the
operation does not declare (a typo is a 422 naming it, never a silently ignored filter), no control character
in a query value or path segment, JSON bodies sent as JSON, and no body larger than MAX_REQUEST_BYTES."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dtwin.contracts.inputs import CONTROL_CHARS
from dtwin.contracts.limits import MAX_REQUEST_BYTES
from dtwin.errors import problem_response

# per route (by identity; the route is kept so its id cannot be reused): its declared query parameter names
_declared: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters the route and its dependencies declare (the fields of a query model too)."""
    known = _declared.get(id(route))
    if known is None:
        found: set[str] = set()
        todo: list[Dependant] = [route.dependant]
        while todo:
            dependant = todo.pop()
            for param in dependant.query_params:
                model = param.field_info.annotation
                if isinstance(model, type) and issubclass(model, BaseModel):
                    found |= {f.alias or n for n, f in model.model_fields.items()}
                else:
                    found.add(param.alias)
            todo.extend(dependant.dependencies)
        known = _declared[id(route)] = (route, frozenset(found))
    return known[1]


def _error(loc: tuple[str, ...], kind: str, msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


async def check_request(request: Request) -> None:
    """Router-level dependency of /api/v1 (see api/router.py)."""
    errors: list[dict[str, Any]] = []
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        declared = _query_names(route)
        for name in dict.fromkeys(request.query_params.keys()):
            if name not in declared:
                takes = ", ".join(sorted(declared)) or "no query parameters"
                errors.append(
                    _error(
                        ("query", name),
                        "extra_forbidden",
                        f"unknown query parameter (this operation takes: {takes})",
                        request.query_params.getlist(name),
                    )
                )
    for name, value in request.query_params.multi_items():
        if CONTROL_CHARS.search(value):
            errors.append(
                _error(("query", name), "value_error", "must not contain control characters", value)
            )
    for name, value in request.path_params.items():
        if isinstance(value, str) and CONTROL_CHARS.search(value):
            errors.append(_error(("path", name), "value_error", "must not contain control characters", value))
    if errors:
        raise RequestValidationError(errors)


class BodyLimit:
    """413 (problem+json) for a request body over `max_bytes`: at once when Content-Length says so, else as
    soon as the bytes read pass it (the handler's read raises, so nothing larger is ever buffered)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"the request body may hold at most {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            response = problem_response(413, "Content too large", self._too_large(), scope.get("path"))
            await response(scope, receive, send)
            return
        total = 0

        async def limited() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:
                    raise HTTPException(413, "Content too large")
            return message

        await self.app(scope, limited, send)


def install_request_guards(app: FastAPI) -> None:
    """The app-wide part of the guards (the rest is a dependency of /api/v1, see api/router.py)."""
    app.add_middleware(BodyLimit, max_bytes=MAX_REQUEST_BYTES)
