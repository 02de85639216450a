"""Fleet aggregations (twins/aggregate.py): grouping, each aggregate against a plain computation, and the
input errors that must be a 422 with a reason."""

import math
import random
import statistics
from typing import Any

import pytest

from dtwin.contracts.limits import MAX_AGG_GROUPS, MAX_AGGREGATES, MAX_GROUP_BY
from dtwin.twins.aggregate import aggregate, parse_aggregates, parse_group_by
from dtwin.twins.query import QueryError


def fleet(n: int = 301) -> list[dict[str, Any]]:
    rng = random.Random(11)
    return [
        {
            "id": f"m-{i:04d}",
            "site": rng.choice(["s1", "s2"]),
            "line": None if i % 13 == 0 else rng.choice(["l1", "l2", "l3"]),
            "machine_type": rng.choice(["pump", "fan"]),
            "status": rng.choice(["online", "online", "stale", "offline"]),
            "health": None if i % 7 == 0 else float(rng.randint(0, 100)),
            "anomaly_score": rng.random(),
            "version": i,
            "readings": {"temperature_c": float(rng.randint(20, 90))} if i % 5 else {},
            "reported": {"mode": "on" if i % 2 else "standby"},
            "attributes": {"vendor": "ACME" if i < 100 else "X", "spec": {"kw": 5}},
        }
        for i in range(n)
    ]


def test_groups_and_aggregates_agree_with_a_plain_computation() -> None:
    twins = fleet()
    aggs = parse_aggregates("count,avg:health,max:reported.temperature_c,count:status=stale,n:health")
    groups, total = aggregate(twins, parse_group_by("site,line"), aggs)
    keys = [g.key for g in groups]
    assert keys == sorted(keys, key=lambda k: tuple((v is None, str(v)) for v in k))  # nulls last
    assert ("s1", None) in keys and sum(g.count for g in groups) == len(twins) == total.count
    for g in groups:
        members = [t for t in twins if (t["site"], t["line"]) == g.key]
        healths = [t["health"] for t in members if t["health"] is not None]
        temps = [t["readings"]["temperature_c"] for t in members if t["readings"]]
        assert g.count == g.values["count"] == len(members)
        assert g.values["avg:health"] == pytest.approx(statistics.fmean(healths)) if healths else None
        assert g.values["max:reported.temperature_c"] == (max(temps) if temps else None)
        assert g.values["count:status=stale"] == sum(t["status"] == "stale" for t in members)
        assert g.values["n:health"] == len(healths)
    assert total.values["count:status=stale"] == sum(t["status"] == "stale" for t in twins)


def test_conditions_on_fields_and_properties_and_a_property_group() -> None:
    twins = fleet()
    aggs = parse_aggregates('count:health<50,count:reported.temperature_c>=80,count:attributes.vendor="ACME"')
    groups, total = aggregate(twins, parse_group_by("attributes.vendor"), aggs)
    assert [g.key for g in groups] == [("ACME",), ("X",)]
    assert total.values["count:health<50"] == sum(
        1 for t in twins if t["health"] is not None and t["health"] < 50
    )
    hot = sum(1 for t in twins if t["readings"] and t["readings"]["temperature_c"] >= 80)
    assert total.values["count:reported.temperature_c>=80"] == hot
    assert groups[0].values['count:attributes.vendor="ACME"'] == groups[0].count == 100
    # an object is not a group key: such twins fall in the null group
    groups, _ = aggregate(twins, parse_group_by("attributes.spec"), parse_aggregates(None))
    assert [(g.key, g.count) for g in groups] == [((None,), len(twins))]


def test_no_group_by_is_one_group_and_sum_min_skip_what_is_not_a_number() -> None:
    twins = [
        {"id": "a", "health": 10.0, "reported": {"x": True}},
        {"id": "b", "health": None, "reported": {"x": "7"}},
        {"id": "c", "health": 30.0, "reported": {"x": 2}},
        {"id": "d", "health": math.nan, "reported": {}},
    ]
    groups, total = aggregate(twins, (), parse_aggregates("sum:health,min:reported.x,avg:reported.missing"))
    assert [g.key for g in groups] == [()]
    assert total.values == {"sum:health": 40.0, "min:reported.x": 2.0, "avg:reported.missing": None}


@pytest.mark.parametrize(
    ("group_by", "agg", "says"),
    [
        ("site,nothing", None, "cannot group by 'nothing'"),
        ("site,site", None, "twice"),
        (
            ",".join(["site", "line", "status", "machine_type", "attributes.a"]),
            None,
            f"at most {MAX_GROUP_BY}",
        ),
        (None, "median:health", "unknown aggregate 'median'"),
        (None, "avg", "avg needs a field"),
        (None, "avg:id", "cannot compute avg of 'id'"),
        (None, "count:", "needs a condition"),
        (None, "count:colour=red", "cannot read filter"),
        (None, "count:health>high", "compares with a number"),
        (None, "count,count", "twice"),
        (
            None,
            ",".join(f"max:reported.s{i}" for i in range(MAX_AGGREGATES + 1)),
            f"at most {MAX_AGGREGATES}",
        ),
    ],
)
def test_bad_requests_say_why(group_by: str | None, agg: str | None, says: str) -> None:
    def parse() -> None:
        parse_group_by(group_by)
        parse_aggregates(agg)

    with pytest.raises(QueryError, match=says):
        parse()


def test_too_many_groups_is_refused() -> None:
    twins = [{"id": str(i), "attributes": {"serial": i}} for i in range(MAX_AGG_GROUPS + 1)]
    with pytest.raises(QueryError, match="more than"):
        aggregate(twins, parse_group_by("attributes.serial"), parse_aggregates(None))
