import random

import pytest

from dtwin.twins.query import QueryError, page, parse_comparison


def fleet(n: int = 137) -> list[dict[str, object]]:
    rng = random.Random(7)
    return [
        {
            "id": f"m-{i:04d}",
            "health": None if i % 9 == 0 else float(rng.randint(0, 20)),
            "machine_type": rng.choice(["pump", "fan"]),
            "readings": {"temperature_c": float(i)},
            "reported": {"mode": "on" if i % 2 else "standby"},
            "attributes": {"vendor": "ACME" if i < 50 else "X"},
        }
        for i in range(n)
    ]


def expected(twins: list[dict[str, object]], field: str, desc: bool) -> list[str]:
    present = sorted(
        (t for t in twins if t[field] is not None), key=lambda t: (t[field], t["id"]), reverse=desc
    )
    missing = sorted((t for t in twins if t[field] is None), key=lambda t: t["id"], reverse=desc)
    return [str(t["id"]) for t in present + missing]


@pytest.mark.parametrize("sort", ["id", "-id", "health", "-health"])
@pytest.mark.parametrize("limit", [1, 10, 50, 500])
def test_cursor_pages_visit_every_twin_once_in_order(sort: str, limit: int) -> None:
    twins = fleet()
    got: list[str] = []
    cursor = None
    for _ in range(1000):
        items, cursor = page(twins, sort=sort, limit=limit, cursor=cursor)
        got.extend(str(t["id"]) for t in items)
        if cursor is None:
            break
    assert got == expected(twins, sort.lstrip("-"), sort.startswith("-"))


def test_cursor_from_another_sort_and_garbage_are_rejected() -> None:
    _, cursor = page(fleet(), sort="id", limit=5, cursor=None)
    assert cursor is not None
    with pytest.raises(QueryError, match="another sort order"):
        page(fleet(), sort="-health", limit=5, cursor=cursor)
    with pytest.raises(QueryError, match="invalid cursor"):
        page(fleet(), sort="id", limit=5, cursor="!!!")
    with pytest.raises(QueryError, match="cannot sort by"):
        page(fleet(), sort="colour", limit=5, cursor=None)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("reported.temperature_c>130", {"m-0131", "m-0132", "m-0133", "m-0134", "m-0135", "m-0136"}),
        ("reported.temperature_c<=1", {"m-0000", "m-0001"}),
        ("reported.mode=standby", {f"m-{i:04d}" for i in range(137) if i % 2 == 0}),
        ('attributes.vendor!="ACME"', {f"m-{i:04d}" for i in range(50, 137)}),
        ("attributes.missing=1", set()),
    ],
)
def test_property_comparisons(text: str, ids: set[str]) -> None:
    c = parse_comparison(text)
    assert {t["id"] for t in fleet() if c.matches(t)} == ids


@pytest.mark.parametrize("text", ["temperature_c>80", "reported.temperature_c~80", "health.x>1", ">3"])
def test_bad_comparisons_say_why(text: str) -> None:
    with pytest.raises(QueryError):
        parse_comparison(text)
