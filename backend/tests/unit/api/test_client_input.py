"""What one client may send (issue #13): JSON the stores can hold, checked before anything is written; no
control characters in query strings or paths; no unknown query parameters; instants as ISO 8601 with a zone;
every error problem+json and declared; 405 with `Allow`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dtwin.contracts.limits import MAX_JSON_DEPTH, MAX_REQUEST_BYTES

PROBLEM = "application/problem+json"


def nested(depth: int) -> dict[str, Any]:
    """An object whose containers nest `depth` levels deep (the object itself is level 1)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    return body


class TestBodies:
    @pytest.mark.parametrize(
        ("attributes", "says"),
        [
            ({"serial": 2**64}, "64-bit"),
            ({"serial": -(2**63) - 1}, "64-bit"),
            ({"a": {"b": [1, 2**70]}}, "a.b[1]: integer outside the 64-bit range"),
            ({"serial": "HP\u000077"}, "NUL"),
            ({"se\u0000rial": "HP-77"}, "NUL"),
            ({"deep": nested(MAX_JSON_DEPTH)}, f"nested deeper than {MAX_JSON_DEPTH}"),
            ({"big": "x" * 17_000}, "more than 16384"),
        ],
    )
    async def test_unstorable_attributes_are_422_and_create_nothing(
        self, client: httpx.AsyncClient, attributes: dict[str, Any], says: str
    ) -> None:
        r = await client.post("/api/v1/twins", json={"id": "press-1", "attributes": attributes})
        assert says in problem(r, 422)["detail"]
        problem(await client.get("/api/v1/twins/press-1"), 404)  # not half-created
        assert (await client.get("/api/v1/twins")).json()["count"] == 0

    async def test_attributes_at_the_limits_are_stored_exactly(self, client: httpx.AsyncClient) -> None:
        attributes = {"max": 2**63 - 1, "min": -(2**63), "deep": nested(MAX_JSON_DEPTH - 1)}
        r = await client.post("/api/v1/twins", json={"id": "press-1", "attributes": attributes})
        assert r.status_code == 201, r.text
        assert (await client.get("/api/v1/twins/press-1")).json()["attributes"] == attributes

    async def test_nan_and_lone_surrogates_in_attributes_are_422(self, client: httpx.AsyncClient) -> None:
        created = await client.post(
            "/api/v1/twins", json={"id": "press-1", "attributes": {"serial": "HP-77"}}
        )
        version = created.json()["version"]
        for raw, says in (
            (b'{"attributes": {"x": NaN}}', "finite"),
            (b'{"attributes": {"x": "\\ud800"}}', "Unicode"),
        ):
            r = await client.put(
                "/api/v1/twins/press-1/attributes", content=raw, headers={"content-type": "application/json"}
            )
            assert says in problem(r, 422)["detail"]
        twin = (await client.get("/api/v1/twins/press-1")).json()
        assert twin["attributes"] == {"serial": "HP-77"} and twin["version"] == version  # unchanged

    async def test_placement_and_type_must_be_identifiers(self, client: httpx.AsyncClient) -> None:
        for body in ({"id": "m-1", "machine_type": "pump\u0000"}, {"id": "m-1", "site": "site 1"}):
            problem(await client.post("/api/v1/twins", json=body), 422)
        problem(await client.get("/api/v1/twins/m-1"), 404)

    async def test_a_body_that_is_not_json_is_415(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/api/v1/twins", content=b'{"id": "m-1"}', headers={"content-type": "text/plain"}
        )
        assert "application/json" in problem(r, 415)["detail"]

    async def test_a_body_over_the_request_limit_is_413(self, client: httpx.AsyncClient) -> None:
        body = b'{"id": "m-1", "attributes": {"x": "' + b"x" * MAX_REQUEST_BYTES + b'"}}'
        r = await client.post("/api/v1/twins", content=body, headers={"content-type": "application/json"})
        problem(r, 413)


class TestQueryAndPath:
    async def test_an_unknown_query_parameter_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        body = problem(await client.get("/api/v1/twins", params={"machine_typ": "pump"}), 422)
        assert body["errors"][0]["loc"] == ["query", "machine_typ"]
        assert "machine_type" in body["detail"]  # says what the operation takes

    async def test_a_query_parameter_on_an_operation_without_any_is_422(
        self, client: httpx.AsyncClient
    ) -> None:
        body = problem(await client.get("/api/v1/twins/m-1", params={"fields": "id"}), 422)
        assert body["errors"][0]["loc"] == ["query", "fields"]

    @pytest.mark.parametrize(
        "url",
        [
            "/api/v1/machine-types?cursor=%00",
            "/api/v1/twins?where=attributes.x%3D%00",
            "/api/v1/twins/m-1/readings?sensor=temp%00",
            "/api/v1/twins/m-1/events?cursor=1%0A",
        ],
    )
    async def test_control_characters_in_a_query_are_422(self, client: httpx.AsyncClient, url: str) -> None:
        body = problem(await client.get(url), 422)
        assert body["errors"][0]["loc"][0] == "query"

    async def test_a_nul_in_a_path_parameter_is_422(self, client: httpx.AsyncClient) -> None:
        body = problem(await client.get("/api/v1/twins/m%001/events"), 422)
        assert body["errors"][0]["loc"] == ["path", "machine_id"]

    @pytest.mark.parametrize(
        "value", ["1295343061", "1295343061.5", "3.3e-113", "2026-11-23", "0147-06-12T09:25:47Z"]
    )
    async def test_instants_are_iso_8601_with_a_zone_only(
        self, client: httpx.AsyncClient, value: str
    ) -> None:
        await client.post("/api/v1/twins", json={"id": "m-1"})
        for path in ("/api/v1/twins/m-1/readings", "/api/v1/twins/m-1/events", "/api/v1/twins/m-1/decisions"):
            body = problem(await client.get(path, params={"from": value}), 422)
            assert body["errors"][0]["loc"] == ["query", "from"]
        problem(await client.get("/api/v1/twins/m-1/at", params={"ts": value}), 422)

    async def test_unicode_digits_in_a_cursor_or_if_match_are_4xx(self, client: httpx.AsyncClient) -> None:
        await client.post("/api/v1/twins", json={"id": "m-1"})
        problem(await client.get("/api/v1/twins/m-1/events", params={"cursor": "²"}), 422)
        r = await client.patch(
            "/api/v1/twins/m-1/desired",
            content=b'{"mode": "off"}',
            headers={b"content-type": b"application/merge-patch+json", b"if-match": "²".encode("latin-1")},
        )
        problem(r, 400)

    async def test_a_forged_fleet_cursor_is_422(self, client: httpx.AsyncClient) -> None:
        import base64

        await client.post("/api/v1/twins", json={"id": "m-1"})
        for payload in (b"5", b'["health", [1], "m-1"]', b'["last_seen", "not a date", "m-1"]'):
            cursor = base64.urlsafe_b64encode(payload).decode().rstrip("=")
            sort = "health" if b"health" in payload else "last_seen" if b"last_seen" in payload else "id"
            r = await client.get("/api/v1/twins", params={"cursor": cursor, "sort": sort})
            assert "cursor" in problem(r, 422)["detail"]


class TestHttp:
    async def test_405_lists_every_method_of_the_path(self, client: httpx.AsyncClient) -> None:
        r = await client.put("/api/v1/twins/m-1")
        problem(r, 405)
        assert r.headers["allow"] == "DELETE, GET"

    async def test_every_error_answer_is_declared_as_problem_json(self, app: FastAPI) -> None:
        spec = app.openapi()
        assert "HTTPValidationError" not in spec["components"]["schemas"]
        for path, operations in spec["paths"].items():
            for method, op in operations.items():
                codes = op["responses"]
                if path.startswith("/api/v1/"):
                    assert {"422", "503"} <= set(codes), (method, path)
                if method in ("post", "put", "patch"):
                    assert {"400", "413", "415"} <= set(codes), (method, path)
                for code, response in codes.items():
                    if code[0] in "45" and path != "/readyz":
                        assert set(response["content"]) == {PROBLEM}, (method, path, code)
