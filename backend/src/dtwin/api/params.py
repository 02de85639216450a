"""Parameters shared by several routers: a time window and its resolution, `If-Match` versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

from dtwin.errors import BadRequest, InvalidInput

From = Annotated[AwareDatetime | None, Query(alias="from", description="Window start, ISO 8601 with zone")]
To = Annotated[AwareDatetime | None, Query(description="Window end, ISO 8601 with zone; default now")]


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
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise BadRequest(f"If-Match must be a version number as given in the ETag header, not {value!r}")
    return int(tag)
