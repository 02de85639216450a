"""The API over the embedded adapters (in-process bus, fakeredis, SQLite), lifespan entered."""

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def feed(app: FastAPI, machine: str, n: int) -> None:
    """current_a = i, load_pct 50 at T0 + i s."""
    await factories.feed(app, machine, n, t0=T0, readings=lambda i: {"current_a": float(i), "load_pct": 50.0})


async def test_twins_list_and_get_reflect_consumed_telemetry(app: FastAPI, client: httpx.AsyncClient) -> None:
    await feed(app, "conv-0001", 3)

    async def listed() -> bool:
        r = await client.get("/api/v1/twins")
        return r.json()["count"] == 1

    await eventually(listed, what="twin listed")
    twin = (await client.get("/api/v1/twins/conv-0001")).json()
    assert twin["readings"] == {"current_a": 2.0, "load_pct": 50.0}
    assert twin["ts"].startswith("2026-11-23T10:00:02")


async def test_readings_are_newest_first_limited_and_returned_oldest_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await feed(app, "conv-0002", 5)

    async def stored() -> list[dict[str, object]]:
        r = await client.get("/api/v1/twins/conv-0002/readings", params={"sensor": "current_a", "limit": 3})
        items: list[dict[str, object]] = r.json()["items"] if r.status_code == 200 else []
        return items if len(items) == 3 and items[-1]["value"] == 4.0 else []

    items = await eventually(stored, what="readings stored")
    assert [i["value"] for i in items] == [2.0, 3.0, 4.0]
    window = await client.get(
        "/api/v1/twins/conv-0002/readings",
        params={"sensor": "current_a", "from": "2026-11-23T10:00:01Z", "to": "2026-11-23T10:00:02Z"},
    )
    assert [i["value"] for i in window.json()["items"]] == [1.0, 2.0]


async def test_unknown_twin_is_404_problem_json(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/twins/nope", "/api/v1/twins/nope/readings"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "no twin with id 'nope'"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"limit": 0},
        {"limit": 100001},
        {"from": "2026-11-23T10:00:00"},
        {"from": "2026-11-23T11:00:00Z", "to": "2026-11-23T10:00:00Z"},
    ],
)
async def test_bad_query_is_422_problem_json(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    await feed(app, "conv-0003", 1)
    await eventually(lambda: _exists(client, "conv-0003"), what="twin exists")
    r = await client.get("/api/v1/twins/conv-0003/readings", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"]


async def _exists(client: httpx.AsyncClient, machine: str) -> bool:
    return (await client.get(f"/api/v1/twins/{machine}")).status_code == 200


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}

    async def ready() -> bool:
        r = await client.get("/readyz")
        return r.status_code == 200

    await eventually(ready, what="ready")
    body = (await client.get("/readyz")).json()
    assert body["mode"] == {"bus": "memory", "redis": "fakeredis", "database": "sqlite"}


async def test_openapi_documents_the_endpoints(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {
        "/api/v1/twins",
        "/api/v1/twins/{machine_id}",
        "/api/v1/twins/{machine_id}/readings",
        "/healthz",
        "/readyz",
    } <= set(spec["paths"])


async def test_backing_service_down_is_503_problem_json(app: FastAPI, client: httpx.AsyncClient) -> None:
    await app.state.adapters.redis.aclose()
    app.state.adapters.redis.connection_pool.connection_kwargs["server"].connected = False
    # one twin reads Redis itself (the fleet list is served from the process's read model, see below)
    r = await client.get("/api/v1/twins/m-1")
    assert r.status_code == 503

    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Service unavailable"


async def test_history_at_and_csv_export(app: FastAPI, client: httpx.AsyncClient) -> None:
    await feed(app, "conv-0009", 5)  # current_a = 0..4 at T0 + 0..4 s

    async def stored() -> bool:
        r = await client.get("/api/v1/twins/conv-0009/readings", params={"sensor": "current_a"})
        return r.status_code == 200 and len(r.json()["items"]) == 5

    await eventually(stored, what="readings stored")
    window = {"from": "2026-11-23T09:00:00Z", "to": "2026-11-23T11:00:00Z"}
    h = (
        await client.get(
            "/api/v1/twins/conv-0009/history", params={**window, "bucket": "1m", "sensor": "current_a"}
        )
    ).json()
    assert [(p["count"], p["min"], p["max"], p["avg"]) for p in h["items"]] == [(5, 0.0, 4.0, 2.0)]
    raw = (
        await client.get(
            "/api/v1/twins/conv-0009/history", params={**window, "bucket": "raw", "sensor": "current_a"}
        )
    ).json()
    assert [p["avg"] for p in raw["items"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    at = (await client.get("/api/v1/twins/conv-0009/at", params={"ts": "2026-11-23T10:00:02.500Z"})).json()
    assert at["readings"]["current_a"]["value"] == 2.0
    assert (await client.get("/api/v1/twins/conv-0009/history", params={"bucket": "7m"})).status_code == 422
    year = {"from": "2025-11-23T00:00:00Z", "to": "2026-11-23T00:00:00Z", "bucket": "10s"}
    too_many = await client.get("/api/v1/twins/conv-0009/history", params=year)
    assert too_many.status_code == 422 and "buckets per sensor" in too_many.json()["detail"]
    async with client.stream("GET", "/api/v1/twins/conv-0009/export.csv") as r:
        assert r.headers["content-type"].startswith("text/csv")
        lines = [line async for line in r.aiter_lines() if line]
    assert lines[0] == "timestamp,sensor,value,quality"
    assert len(lines) == 1 + 10  # 5 messages x 2 sensors
    assert lines[1] == "2026-11-23T10:00:00.000Z,current_a,0.0,good"


async def test_series_is_downsampled_on_the_server(app: FastAPI, client: httpx.AsyncClient) -> None:
    await feed(app, "conv-0010", 60)  # current_a = 0..59 at T0 + 0..59 s, load_pct constant

    async def stored() -> bool:
        r = await client.get("/api/v1/twins/conv-0010/readings", params={"sensor": "current_a"})
        return r.status_code == 200 and len(r.json()["items"]) == 60

    await eventually(stored, what="readings stored")
    window = {"from": "2026-11-23T09:00:00Z", "to": "2026-11-23T11:00:00Z"}
    s = (
        await client.get(
            "/api/v1/twins/conv-0010/series", params={**window, "sensor": "current_a", "width": 12}
        )
    ).json()
    assert s["source"] == "raw" and list(s["sensors"]) == ["current_a"]
    points = s["sensors"]["current_a"]
    assert points["raw_count"] == 60 and len(points["v"]) == 12
    assert points["v"][0] == 0.0 and points["v"][-1] == 59.0  # LTTB keeps both ends
    assert points["t"][0].startswith("2026-11-23T10:00:00")
    mm = (
        await client.get("/api/v1/twins/conv-0010/series", params={**window, "width": 10, "method": "minmax"})
    ).json()
    assert set(mm["sensors"]) == {"current_a", "load_pct"}
    assert len(mm["sensors"]["current_a"]["v"]) <= 10
    assert min(mm["sensors"]["current_a"]["v"]) == 0.0 and max(mm["sensors"]["current_a"]["v"]) == 59.0
    bad = await client.get("/api/v1/twins/conv-0010/series", params={"width": 1})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def test_fleet_aggregate_groups_the_filtered_twins(app: FastAPI, client: httpx.AsyncClient) -> None:
    """`GET /twins/aggregate` answers from the same fleet as the list, with the list's filters."""
    for machine, site, n in (("agg-a1", "north", 3), ("agg-a2", "north", 2), ("agg-b1", "south", 4)):
        await factories.feed(
            app, machine, n, t0=T0, site=site, readings=lambda i: {"current_a": 10.0 * i, "load_pct": 50.0}
        )

    async def listed() -> bool:
        return (await client.get("/api/v1/twins")).json()["count"] == 3

    await eventually(listed, what="three twins")
    params = {"group_by": "site", "agg": "count,max:reported.current_a,count:reported.current_a>=20"}
    body = (await client.get("/api/v1/twins/aggregate", params=params)).json()
    assert body["group_by"] == ["site"]
    assert [(g["key"], g["count"]) for g in body["groups"]] == [
        ({"site": "north"}, 2),
        ({"site": "south"}, 1),
    ]
    north, south = body["groups"]
    assert north["values"] == {"count": 2, "max:reported.current_a": 20.0, "count:reported.current_a>=20": 1}
    assert south["values"]["max:reported.current_a"] == 30.0
    assert body["total"]["count"] == 3 and body["total"]["key"] == {}
    # the list's filters apply
    only = (await client.get("/api/v1/twins/aggregate", params={"site": "south"})).json()
    assert only["total"]["values"] == {"count": 1}
    bad = await client.get("/api/v1/twins/aggregate", params={"agg": "median:health"})
    assert bad.status_code == 422 and "unknown aggregate" in bad.json()["detail"]
    assert bad.headers["content-type"] == "application/problem+json"
    # /twins/aggregate is not a twin's path: a method it lacks lists only its own in Allow
    options = await client.options("/api/v1/twins/aggregate")
    assert options.status_code == 405 and options.headers["allow"] == "GET"
