"""Fleet queries over twin snapshots: filters, property comparisons, sorting and opaque cursors. Pure
functions, so they are easy to test and the same for every store."""

from __future__ import annotations

import base64
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

_CMP = re.compile(r"^(?P<path>[a-z_]+(?:\.[A-Za-z0-9_]+)+)\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>.+)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}
SORT_FIELDS = (
    "id",
    "machine_type",
    "site",
    "line",
    "status",
    "last_seen",
    "ts",
    "version",
    "health",
    "anomaly_score",
)
ROOTS = ("reported", "desired", "attributes", "delta")
_BAD_CURSOR = "invalid cursor: pass next_cursor from the previous page unchanged"


class QueryError(ValueError):
    """An invalid filter, sort or cursor; its message says what is wrong."""


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str
    value: Any

    def matches(self, twin: dict[str, Any]) -> bool:
        return self.holds(resolve(twin, self.path))

    def holds(self, actual: Any) -> bool:
        """Whether a value read at `path` satisfies the comparison (missing: only `!=` holds)."""
        if actual is None:
            return self.op == "!="
        try:
            return _OPS[self.op](actual, self.value)
        except TypeError:  # comparing a number with a string: not a match
            return False


def parse_comparison(text: str) -> Comparison:
    """`reported.temperature_c>80`, `attributes.vendor=ACME`, `desired.mode!="off"`."""
    m = _CMP.match(text.strip())
    if m is None:
        raise QueryError(
            f"cannot read filter {text!r}: expected <root>.<property><op><value>, e.g. "
            "reported.temperature_c>80 (ops: > >= < <= = !=)"
        )
    path = tuple(m["path"].split("."))
    if path[0] not in ROOTS:
        raise QueryError(f"filter {text!r}: the path must start with one of {', '.join(ROOTS)}")
    raw = m["value"].strip()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw  # bare words compare as strings
    return Comparison(path, m["op"], value)


def resolve(twin: dict[str, Any], path: Sequence[str]) -> Any:
    """`reported.x` looks in the sensor readings, then in the reported device settings (without merging
    the two: this runs per twin for every filter and aggregate)."""
    rest = path[1:]
    if path[0] != "reported":
        node: Any = twin.get(path[0])
    elif not rest:
        node = {**twin.get("reported", {}), **twin.get("readings", {})}
    else:
        readings, name = twin.get("readings") or {}, rest[0]
        node = readings[name] if name in readings else (twin.get("reported") or {}).get(name)
        rest = rest[1:]
    for part in rest:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def sort_key(field: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """Missing values sort last whatever the direction; ties break on id."""

    def key(t: dict[str, Any]) -> tuple[Any, ...]:
        v = t.get(field)
        return (v is None, v if v is not None else 0, t["id"])

    return key


def parse_sort(sort: str) -> tuple[str, bool]:
    desc = sort.startswith("-")
    name = sort.lstrip("-+")
    if name not in SORT_FIELDS:
        raise QueryError(
            f"cannot sort by {name!r}; choose one of {', '.join(SORT_FIELDS)} (prefix - to reverse)"
        )
    return name, desc


def encode_cursor(sort: str, twin: dict[str, Any]) -> str:
    name, _ = parse_sort(sort)
    value = twin.get(name)
    if isinstance(value, datetime):
        value = value.isoformat()
    return base64.urlsafe_b64encode(orjson.dumps([sort, value, twin["id"]])).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        s, value, last_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise QueryError(_BAD_CURSOR) from exc
    if not isinstance(value, str | int | float | None) or not isinstance(last_id, str):
        raise QueryError(_BAD_CURSOR)
    if s != sort:
        raise QueryError("the cursor belongs to another sort order; start again without a cursor")
    return value, str(last_id)


def page(
    twins: list[dict[str, Any]], *, sort: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Sort, skip past the cursor, cut `limit`; returns the page and the next cursor (None at the end)."""
    name, desc = parse_sort(sort)
    key = sort_key(name)
    ordered = sorted(twins, key=key, reverse=desc)
    if desc:  # missing values last in both directions
        ordered = [t for t in ordered if t.get(name) is not None] + [
            t for t in ordered if t.get(name) is None
        ]
    start = 0
    if cursor:
        try:
            start = _start_after(ordered, name, desc, key, cursor, sort)
        except QueryError:
            raise
        except (TypeError, ValueError) as exc:  # a forged cursor: a value of another type than the field's
            raise QueryError(_BAD_CURSOR) from exc
    items = ordered[start : start + limit]
    more = start + limit < len(ordered)
    return items, (encode_cursor(sort, items[-1]) if more and items else None)


def _start_after(
    ordered: list[dict[str, Any]],
    name: str,
    desc: bool,
    key: Callable[[dict[str, Any]], tuple[Any, ...]],
    cursor: str,
    sort: str,
) -> int:
    """Index of the first twin after the cursor's position in `ordered`."""
    start = 0
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        marker = {name: value, "id": last_id}
        if isinstance(value, str) and name in ("last_seen", "ts"):
            marker[name] = datetime.fromisoformat(value)
        mk = key(marker)
        if desc:  # order: present values by (value, id) descending, then missing values by id descending
            present = [t for t in ordered if t.get(name) is not None]
            if mk[0]:
                start = len(present) + sum(1 for t in ordered[len(present) :] if t["id"] >= last_id)
            else:
                start = sum(1 for t in present if (key(t)[1], t["id"]) >= (mk[1], last_id))
        else:
            start = sum(1 for t in ordered if key(t) <= mk)
    return start
