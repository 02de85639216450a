"""Domain errors and their RFC 9457 application/problem+json rendering, and the one rule for errors of the
stores behind a request: what the client sent and a store refused (a constraint or data error) is the
client's 4xx, a backing service that cannot be reached is a 503 (retry later), anything else a 500 (a bug).
No response body carries SQL, a driver's message or a stack trace: those go to the log."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/ProblemDetails"


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error response of the API carries."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class DtwinError(Exception):
    status: int = 500
    title: str = "Internal error"
    headers: dict[str, str] | None = None  # sent with the problem response (WWW-Authenticate on 401)

    def __init__(self, detail: str | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        # per field, as request validation gives them: {"loc": [...], "msg": ..., "type": ...}
        self.errors = errors


class BadRequest(DtwinError):
    status = 400
    title = "Bad request"


class Unauthorized(DtwinError):
    """No valid credentials (missing, malformed, expired, revoked, unknown, or a disabled user)."""

    status = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012 - read only


class Forbidden(DtwinError):
    """Valid credentials whose role is below what the operation needs."""

    status = 403
    title = "Forbidden"


class NotFound(DtwinError):
    status = 404
    title = "Not found"


class Conflict(DtwinError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DtwinError):
    status = 412
    title = "Precondition failed"


class UnsupportedMediaType(DtwinError):
    status = 415
    title = "Unsupported media type"


class InvalidInput(DtwinError):
    status = 422
    title = "Invalid input"


class Unavailable(DtwinError):
    """A backing service or background part this request needs is not available; retry later."""

    status = 503
    title = "Service unavailable"


class TooManyRequests(DtwinError):
    """A rate limit is exhausted; `Retry-After` and the RateLimit headers say when to come back."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.headers = headers


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ProblemDetails(title=title, status=status, detail=detail, instance=instance, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


_DESCRIPTIONS = {
    400: "Malformed request (a body that is not JSON text, a malformed header)",
    401: "Missing or invalid credentials (`WWW-Authenticate: Bearer`)",
    403: "The credentials' role may not do this",
    404: "Not found",
    409: "Conflict with the stored state",
    412: "Precondition failed: the version moved on",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input: the `errors` list names each parameter or field and why",
    429: "A rate limit is exhausted: retry after `Retry-After` seconds (RateLimit-* headers: the limit)",
    503: "A backing service (database, Redis, Kafka) is unreachable; retry later",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error codes: application/problem+json bodies. (`model`
    registers the ProblemDetails component; `document_problems` drops the application/json twin FastAPI
    adds for it.)"""
    return {
        c: {
            "model": ProblemDetails,
            "description": _DESCRIPTIONS.get(c, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for c in codes
    }


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Error responses in the OpenAPI document are problem+json only (what the handlers below send)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content")
                if code[:1] in ("4", "5") and content and PROBLEM_JSON in content:
                    content.pop("application/json", None)
                    content[PROBLEM_JSON] = {"schema": {"$ref": PROBLEM_SCHEMA_REF}}
    return schema


# ------------------------------------------------------------------------------ stores' errors -> status


def store_error_status(exc: BaseException) -> int:
    """409 for a constraint the stored state enforces, 422 for a value a store refuses (PostgreSQL data
    exceptions such as NUL in text or a number out of range, a driver refusing a parameter), 503 for an
    infrastructure failure (the consumer's rule, core/failures.py: unreachable, timed out, overloaded),
    else 500. Decided by exception type, never by text; the 4xx cases first, since asyncpg's refusal of a
    parameter is also an InterfaceError."""
    from asyncpg import exceptions as pg
    from sqlalchemy import exc as sa

    from dtwin.kit.failures import error_chain, is_infrastructure

    chain = error_chain(exc)
    for e in chain:
        if isinstance(e, sa.IntegrityError | pg.IntegrityConstraintViolationError):
            return 409
        # asyncpg's client-side DataError (an unencodable parameter) is a ValueError; so is UnicodeError
        if isinstance(e, sa.DataError | pg.DataError | ValueError):
            return 422
    return 503 if is_infrastructure(exc) else 500


_STORE_TITLES = {
    409: ("Conflict", "the request conflicts with the stored state"),
    422: ("Invalid input", "a value in the request cannot be stored"),
    503: ("Service unavailable", "a backing service is unreachable; retry later"),
    500: ("Internal error", "an unexpected error; it is logged"),
}


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (routes are per method, so the one that matched knows
    only its own)."""
    path = request.scope["path"]  # the app is not mounted under a root path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def _about(request: Request) -> dict[str, str]:
    """The machine a failed request was about (its route's `{machine_id}`), for the log line."""
    machine_id = request.path_params.get("machine_id")
    return {"machine_id": machine_id[:128]} if isinstance(machine_id, str) else {}


def install_error_handlers(app: FastAPI) -> None:
    async def dtwin_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DtwinError)
        return problem_response(
            exc.status, exc.title, exc.detail, request.url.path, errors=exc.errors, headers=exc.headers
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return problem_response(422, "Invalid request", detail, request.url.path, errors)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return problem_response(exc.status_code, str(exc.detail), None, request.url.path, headers=headers)

    async def store_error(request: Request, exc: Exception) -> JSONResponse:
        status = store_error_status(exc)
        # the driver's message (SQL, parameters) is for operators, never for the response
        log.error(
            "request_store_error",
            status=status,
            path=request.url.path,
            method=request.method,
            **_about(request),
            error=f"{type(exc).__name__}: {exc}"[:2000],
            exc_info=status == 500,
        )
        title, detail = _STORE_TITLES[status]
        return problem_response(status, title, detail, request.url.path)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "request_failed",
            path=request.url.path,
            method=request.method,
            **_about(request),
            exc_info=exc,
        )
        title, detail = _STORE_TITLES[500]
        return problem_response(500, title, detail, request.url.path)

    from redis.exceptions import RedisError
    from sqlalchemy.exc import SQLAlchemyError

    for exc_type in (SQLAlchemyError, RedisError, OSError, asyncio.TimeoutError):
        app.add_exception_handler(exc_type, store_error)
    app.add_exception_handler(DtwinError, dtwin_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
