"""Domain errors and their RFC 9457 application/problem+json rendering."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


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

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail


class BadRequest(DtwinError):
    status = 400
    title = "Bad request"


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


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = ProblemDetails(title=title, status=status, detail=detail, instance=instance, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error codes."""
    return {c: {"model": ProblemDetails, "content": {PROBLEM_JSON: {}}} for c in codes}


def install_error_handlers(app: FastAPI) -> None:
    async def dtwin_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DtwinError)
        return problem_response(exc.status, exc.title, exc.detail, request.url.path)

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
        return problem_response(exc.status_code, str(exc.detail), None, request.url.path)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # a backing service (database, Redis) is down: retrying may succeed; not a bug, not the client's fault
        return problem_response(
            503,
            "Service unavailable",
            f"{type(exc).__name__}: a backing service is unreachable; retry later",
            request.url.path,
        )

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, OperationalError

    for exc_type in (OperationalError, DBAPIError, RedisConnectionError, RedisTimeoutError, OSError):
        app.add_exception_handler(exc_type, unavailable)
    app.add_exception_handler(DtwinError, dtwin_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
