"""What a client may send: JSON documents stored on a twin (attributes, desired state), free text and
instants. Each is checked at the edge, before anything is written, against what every store downstream
(orjson, Redis, PostgreSQL jsonb/text/timestamptz) can hold, so a request is either taken whole or refused
with a 422 that says where and why."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from dtwin.contracts.limits import (
    MAX_DOCUMENT_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    MIN_JSON_INT,
    PROPERTY_PATTERN,
    PROPERTY_RE,
)

# NUL (PostgreSQL text and jsonb refuse it) and lone UTF-16 surrogates (not encodable as UTF-8)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 control characters and DEL: never part of an identifier, a filter or a cursor
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f]")


class DocumentError(ValueError):
    """A JSON document or text that cannot be stored; the message names the place (`a.b[2]`) and the rule."""


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text, or None."""
    m = _UNSTORABLE.search(value)
    if m is None:
        return None
    if m.group() == "\x00":
        return "must not contain NUL (\\u0000)"
    return "must be valid Unicode (a lone surrogate \\ud800-\\udfff is not)"


def check_document(value: Any, *, max_depth: int = MAX_JSON_DEPTH, where: str = "") -> None:
    """Raise DocumentError unless `value` (decoded JSON) nests at most `max_depth` objects/arrays deep, has
    integers within int64 ([-2^63, 2^63-1]), finite numbers only, and no NUL or lone surrogate in any key or
    string. Iterative, so a hostile document cannot exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise DocumentError(f"{path or 'document'}: nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for k, v in item.items():
                    if not isinstance(k, str):
                        raise DocumentError(f"{path or 'document'}: keys must be strings")
                    if problem := text_problem(k):
                        raise DocumentError(f"{path or 'document'}: key {k[:40]!r} {problem}")
                    stack.append((v, f"{path}.{k}" if path else k, depth + 1))
            else:
                stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item))
        elif isinstance(item, str):
            if problem := text_problem(item):
                raise DocumentError(f"{path or 'document'}: string {problem}")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not MIN_JSON_INT <= item <= MAX_JSON_INT:
                raise DocumentError(
                    f"{path or 'document'}: integer outside the 64-bit range [-2^63, 2^63-1] "
                    "(send larger numbers as strings)"
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise DocumentError(f"{path or 'document'}: numbers must be finite (no NaN or Infinity)")
        else:
            raise DocumentError(f"{path or 'document'}: unsupported value of type {type(item).__name__}")


def check_properties_document(value: dict[str, Any], *, max_depth: int, where: str = "") -> None:
    """check_document for a device-facing document (desired state): top-level keys are property names
    (PROPERTY_PATTERN, as devices report them), so every desired setting can be matched by a reported one."""
    for key in value:
        if not PROPERTY_RE.fullmatch(key):
            raise DocumentError(
                f"{where + '.' if where else ''}{key[:80]!r}: names must match {PROPERTY_PATTERN}"
            )
    check_document(value, max_depth=max_depth, where=where)


def _parse_int(text: str) -> int:
    n = int(text)  # beyond 4300 digits Python refuses (ValueError) before we could
    if not MIN_JSON_INT <= n <= MAX_JSON_INT:
        raise DocumentError(
            f"integer {text[:24]}{'...' if len(text) > 24 else ''} outside the 64-bit range [-2^63, 2^63-1]"
        )
    return n


def _no_constant(name: str) -> Any:
    raise DocumentError(f"{name} is not JSON (numbers must be finite)")


def loads_document(raw: bytes) -> Any:
    """Decode JSON exactly: integers beyond int64 and NaN/Infinity are refused (orjson would silently turn a
    large integer into an approximate float), as is nesting too deep for the decoder."""
    try:
        return json.loads(raw, parse_int=_parse_int, parse_constant=_no_constant)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except UnicodeDecodeError as exc:
        raise DocumentError("not UTF-8 text") from exc
    except ValueError as exc:  # json.JSONDecodeError, int() digit limit
        raise DocumentError(f"not valid JSON: {exc}") from exc


def _document(value: dict[str, Any]) -> dict[str, Any]:
    check_document(value)
    size = len(orjson.dumps(value))
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{size} bytes as JSON, more than {MAX_DOCUMENT_BYTES}")
    return value


def _text(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(f"text {problem}")
    return value


# a free-form JSON object stored on a twin (attributes): see check_document
Document = Annotated[
    dict[str, Any],
    AfterValidator(_document),
    Field(
        description=f"JSON object: at most {MAX_DOCUMENT_BYTES} bytes, nested at most {MAX_JSON_DEPTH} "
        "levels, integers within int64, finite numbers, no NUL"
    ),
]
# free text stored as PostgreSQL text (descriptions, labels, units): no NUL, valid Unicode
Text = Annotated[str, AfterValidator(_text)]


# -------------------------------------------------------------------------------------------- instants

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
ISO_HINT = "an ISO 8601 date-time with a time zone, e.g. 2026-11-23T10:00:00Z"


def _iso_text(value: Any) -> Any:
    # pydantic would read a number (or a numeric string) as seconds since 1970: refused, it is ambiguous
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise ValueError(f"expected {ISO_HINT}, not a number or another format")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be from {EARLIEST.year} up to {LATEST.year} (years)")
    return value


# an instant a client sends (query windows, subscriptions): ISO 8601 with a zone, within [1900, 9000)
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_range),
    Field(
        description=f"{ISO_HINT[0].upper()}{ISO_HINT[1:]} (years 1900-8999)",
        json_schema_extra={"pattern": r"^(19[0-9]{2}|[2-8][0-9]{3})-"},
    ),
]
