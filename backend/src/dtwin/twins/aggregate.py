"""Fleet aggregations (`GET /api/v1/twins/aggregate`): the twins that match a filter, grouped by placement,
type, status or a property, with counts and statistics per group. Pure functions over twin snapshots, like
query.py, so the read model answers without a store round trip.

`group_by`: up to MAX_GROUP_BY of `machine_type`, `site`, `line`, `status` or a property path
(`attributes.vendor`, `reported.mode`, `desired.mode`); a twin without the value falls in the group whose key
is null. `agg`: up to MAX_AGGREGATES of
- `count`: twins in the group;
- `count:<condition>`: twins in the group matching a condition in the filter syntax, on a property path or
  on `status`, `machine_type`, `site`, `line`, `health`, `anomaly_score` (`count:status=stale`,
  `count:reported.temperature_c>80`);
- `sum|avg|min|max:<field>`: over the group's numeric values of `health`, `anomaly_score`, `version` or a
  property path (`avg:health`, `max:reported.temperature_c`); twins without a number there are left out
  (`n:<field>` counts the ones that have one), and the value is null when none has."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dtwin.contracts.limits import MAX_AGG_GROUPS, MAX_AGGREGATES, MAX_GROUP_BY
from dtwin.twins.query import ROOTS, Comparison, QueryError, parse_comparison, resolve

GROUP_FIELDS = ("machine_type", "site", "line", "status")
NUMERIC_FIELDS = ("health", "anomaly_score", "version")
CONDITION_FIELDS = (*GROUP_FIELDS, "health", "anomaly_score")
FUNCTIONS = ("count", "n", "sum", "avg", "min", "max")
_PATH = re.compile(rf"^({'|'.join(ROOTS)})(\.[A-Za-z0-9_\-]+)+$")
_FIELD_CMP = re.compile(
    rf"^(?P<field>{'|'.join(CONDITION_FIELDS)})\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>.+)$"
)

Key = tuple[Any, ...]
Value = float | int | None


def _field(text: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    name = text.strip()
    if name in allowed or _PATH.match(name):
        return tuple(name.split("."))
    raise QueryError(
        f"cannot {what} {name!r}: use one of {', '.join(allowed)} or a property path such as "
        f"attributes.vendor ({', '.join(ROOTS)})"
    )


def parse_group_by(text: str | None) -> tuple[tuple[str, ...], ...]:
    """`site,line` -> (("site",), ("line",)); empty: one group, the whole selection."""
    names = [n for n in (text or "").split(",") if n.strip()]
    if len(names) > MAX_GROUP_BY:
        raise QueryError(f"group_by names {len(names)} fields; at most {MAX_GROUP_BY}")
    fields = tuple(_field(n, GROUP_FIELDS, "group by") for n in names)
    if len(set(fields)) != len(fields):
        raise QueryError("group_by names a field twice")
    return fields


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One requested aggregate: `name` is how the request spelled it (normalised), the key in the answer."""

    name: str
    fn: str
    field: tuple[str, ...] | None = None
    condition: Comparison | None = None


def _condition(text: str) -> Comparison:
    m = _FIELD_CMP.match(text.strip())
    if m is None:
        return parse_comparison(text)
    value: Any = m["value"].strip()
    if m["field"] in NUMERIC_FIELDS:
        try:
            value = float(value)
        except ValueError as exc:
            raise QueryError(f"condition {text!r}: {m['field']} compares with a number") from exc
    return Comparison((m["field"],), m["op"], value)


def parse_aggregate(text: str) -> Aggregate:
    fn, sep, arg = text.strip().partition(":")
    fn, arg = fn.strip(), arg.strip()
    if fn not in FUNCTIONS:
        raise QueryError(f"unknown aggregate {fn!r} in {text!r}; use one of {', '.join(FUNCTIONS)}")
    if fn == "count":
        if not sep:
            return Aggregate("count", "count")
        if not arg:
            raise QueryError("count: needs a condition after the colon, e.g. count:status=stale")
        return Aggregate(f"count:{arg}", "count", condition=_condition(arg))
    if not arg:
        raise QueryError(f"{fn} needs a field: {fn}:health, {fn}:reported.temperature_c")
    return Aggregate(f"{fn}:{arg}", fn, field=_field(arg, NUMERIC_FIELDS, f"compute {fn} of"))


def parse_aggregates(text: str | None) -> tuple[Aggregate, ...]:
    """`count,avg:health` -> the aggregates; none given: `count`. Conditions may hold commas only inside
    quotes, so items are split on commas outside double quotes."""
    items = [i for i in _split(text or "count") if i.strip()]
    if len(items) > MAX_AGGREGATES:
        raise QueryError(f"agg names {len(items)} aggregates; at most {MAX_AGGREGATES}")
    aggs = tuple(parse_aggregate(i) for i in items)
    if len({a.name for a in aggs}) != len(aggs):
        raise QueryError("agg names an aggregate twice")
    return aggs


def _split(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _group_key(v: Any) -> Any:
    """A group's key value: scalars as they are; objects and arrays are not a group (null)."""
    return v if type(v) is str or v is None or isinstance(v, int | float | bool) else None


Getter = Callable[[dict[str, Any]], Any]


def getter(path: tuple[str, ...]) -> Getter:
    """A function reading `path` from a twin (`query.resolve`), made once per request; a top-level field
    (`site`, `health`) is a plain lookup, which is what resolve does for it, without the call."""
    if len(path) == 1 and path[0] != "reported":
        name = path[0]
        return lambda t: t.get(name)
    return lambda t: resolve(t, path)


NUMBER_TYPES = (int, float)  # exactly: a bool is not a number here
Partial = tuple[int, float, float, float]  # count (or values), sum, min, max


def _partials(members: list[dict[str, Any]], aggs: Sequence[Aggregate], gets: list[Getter]) -> list[Partial]:
    """Per aggregate over one group's twins: (count, sum, min, max), a comprehension each, so a group's
    figures combine into the total without a second pass. A condition's count or the numbers' count."""
    out: list[Partial] = []
    for a, get in zip(aggs, gets, strict=True):
        if a.fn == "count":
            c = a.condition
            n = len(members) if c is None else sum(1 for t in members if c.holds(get(t)))
            out.append((n, 0.0, math.inf, -math.inf))
            continue
        xs = [x for x in map(get, members) if type(x) in NUMBER_TYPES and -math.inf < x < math.inf]
        out.append((len(xs), math.fsum(xs), min(xs, default=math.inf), max(xs, default=-math.inf)))
    return out


def _combine(parts: Iterable[list[Partial]], size: int) -> list[Partial]:
    out: list[Partial] = [(0, 0.0, math.inf, -math.inf)] * size
    for group in parts:
        out = [
            (n + m, s + t, min(lo, lo2), max(hi, hi2))
            for (n, s, lo, hi), (m, t, lo2, hi2) in zip(out, group, strict=True)
        ]
    return out


def _values(parts: list[Partial], aggs: Sequence[Aggregate]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for a, (n, total, lo, hi) in zip(aggs, parts, strict=True):
        if a.fn in ("count", "n"):
            out[a.name] = n
        elif n == 0:
            out[a.name] = None
        else:
            out[a.name] = {"sum": total, "avg": total / n, "min": lo, "max": hi}[a.fn]
    return out


@dataclass(frozen=True, slots=True)
class Group:
    key: Key
    count: int
    values: dict[str, Value]


def aggregate(
    twins: Iterable[dict[str, Any]], group_by: Sequence[tuple[str, ...]], aggs: Sequence[Aggregate]
) -> tuple[list[Group], Group]:
    """The groups (sorted by key, nulls last) and the total over every twin given. Raises QueryError past
    MAX_AGG_GROUPS groups."""
    keys = [getter(f) for f in group_by]
    gets = [getter(a.condition.path if a.condition is not None else a.field or ("id",)) for a in aggs]
    groups: dict[Key, list[dict[str, Any]]] = {}
    for t in twins:
        key = tuple([_group_key(k(t)) for k in keys])
        members = groups.get(key)
        if members is None:
            if len(groups) >= MAX_AGG_GROUPS:
                raise QueryError(
                    f"more than {MAX_AGG_GROUPS} groups; group by fewer or coarser fields, or filter first"
                )
            members = groups[key] = []
        members.append(t)
    ordered = sorted(groups.items(), key=lambda kv: tuple((v is None, str(v)) for v in kv[0]))
    parts = [_partials(m, aggs, gets) for _, m in ordered]
    total = Group((), sum(len(m) for _, m in ordered), _values(_combine(parts, len(aggs)), aggs))
    return [Group(k, len(m), _values(p, aggs)) for (k, m), p in zip(ordered, parts, strict=True)], total
