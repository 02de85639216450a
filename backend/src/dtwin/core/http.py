"""HTTP parameters every room's routes share, knowing no domain: the machine id in paths, a time window,
sensor names, `If-Match` versions, and the JSON-body requirement."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Header, Path, Query, Request
from pydantic import WithJsonSchema
from starlette.types import Scope

from dtwin.contracts.inputs import Instant
from dtwin.contracts.limits import MACHINE_ID_PATTERN, SENSOR_PATTERN
from dtwin.errors import BadRequest, InvalidInput, UnsupportedMediaType

MachineId = Annotated[
    str, Path(pattern=MACHINE_ID_PATTERN, description="The machine's id, as in its telemetry")
]
From = Annotated[Instant | None, Query(alias="from", description="Window start, ISO 8601 with zone")]
To = Annotated[Instant | None, Query(description="Window end, ISO 8601 with zone; default now")]
Sensor = Annotated[str | None, Query(pattern=SENSOR_PATTERN, description="Only this sensor")]
# keyset paging of logs (newest first): a page size and the previous page's `next_cursor` (an entry id)
PageLimit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[
    str | None,
    Query(description="next_cursor of the previous page", json_schema_extra={"pattern": "^[0-9]{1,18}$"}),
]


def before_id(cursor: str | None) -> int | None:
    """The entry id a `Cursor` points before (None: the first page); 422 for anything but one we issued."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput("invalid cursor: pass next_cursor from the previous page unchanged")
    return int(cursor)


IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"?[0-9]{1,18}"?)\s*$'
_IF_MATCH = re.compile(IF_MATCH_PATTERN)
IfMatch = Annotated[
    str | None,
    Header(description='The version (ETag) the change is based on, e.g. "7"; 412 if it moved on'),
    WithJsonSchema({"type": "string", "pattern": IF_MATCH_PATTERN}),
]


def window(from_: datetime | None, to: datetime | None, span: timedelta) -> tuple[datetime, datetime]:
    """[from, to] with defaults: `to` = now, `from` = `to` - `span`; 422 if `from` is after `to`."""
    end = to or datetime.now(UTC)
    start = from_ or end - span
    if start > end:
        raise InvalidInput("'from' must not be after 'to'")
    return start, end


def parse_if_match(value: str | None) -> int | None:
    """`"7"`, `W/"7"`, `7` -> 7; absent or `*` -> None (no precondition); anything else is a 400."""
    if value is None or value.strip() == "*":
        return None
    if not _IF_MATCH.match(value):  # at most 18 digits: always within int64
        raise BadRequest(f"If-Match must be a version number as given in the ETag header, not {value[:40]!r}")
    return int(value.strip().removeprefix("W/").strip('"'))


def header_credential(headers: Mapping[str, str]) -> str | None:
    """The credential a request carries: `Authorization: Bearer <token or key>`, else `X-API-Key` (with
    case-insensitive headers, e.g. Starlette's); None without one. Whether it is valid is the auth room's."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    credential = (value if scheme.lower() == "bearer" else "") or headers.get("x-api-key", "")
    return credential.strip() or None


async def require_json(request: Request) -> None:
    """415 unless the body is declared JSON (application/json or any +json media type)."""
    _check_json(request)


async def require_json_if_body(request: Request) -> None:
    """Like `require_json`, for an operation whose body is optional: a request without one passes."""
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        _check_json(request)


def _check_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType(f"send the body as application/json, not {media or 'an empty type'}")


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def require_form(request: Request) -> None:
    """415 unless the body is declared a form (an OAuth2 password login is form-encoded)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in FORM_TYPES:
        raise UnsupportedMediaType(
            f"send the body as application/x-www-form-urlencoded, not {media or 'an empty type'}"
        )


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefixes it was included under: `/api/v1/twins/{machine_id}`.
    The route in the scope knows its own path only (`/twins/{machine_id}`), so the prefixes are the
    leading segments of the real path (our prefixes hold no parameters, our parameters no `/`). The real
    path when no route matched."""
    path: str = scope["path"]
    route_path = getattr(scope.get("route"), "path_format", None)
    if not isinstance(route_path, str) or not route_path.startswith("/"):
        return path[:256]
    parts = path.split("/")
    keep = len(parts) - route_path.count("/")
    prefix = "/".join(parts[:keep]) if keep > 0 else ""
    return (prefix + route_path)[:256]
