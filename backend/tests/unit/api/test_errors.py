"""Errors of the stores behind a request: a constraint or data error is the client's 4xx, only an unreachable
service is a 503, anything else a 500; no response carries SQL or a driver's message (issue #13)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy import exc as sa

from dtwin.errors import install_error_handlers, store_error_status

SQL = "INSERT INTO twins (id, attributes) VALUES ($1::VARCHAR, $2::JSONB)"


def wrapped(driver_error: Exception) -> sa.DBAPIError:
    """How SQLAlchemy's asyncpg dialect raises a driver error: a DBAPIError whose `orig` is caused by it."""

    class AdaptedError(Exception):
        pass

    try:
        try:
            raise AdaptedError(str(driver_error)) from driver_error
        except AdaptedError as adapted:
            raise sa.DBAPIError(SQL, ("m-1", '{"x": "\\u0000"}'), adapted) from adapted
    except sa.DBAPIError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (sa.IntegrityError(SQL, (), Exception("duplicate key")), 409),
        (wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key value")), 409),
        (
            wrapped(asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape sequence")),
            422,
        ),
        (wrapped(asyncpg.exceptions.NumericValueOutOfRangeError("bigint out of range")), 422),
        (wrapped(asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence 0x00")), 422),
        # asyncpg refusing a parameter client-side (an InterfaceError too, but the input's fault)
        (wrapped(asyncpg.exceptions._base.DataError("invalid input for query argument $2")), 422),
        (sa.DataError(SQL, (), Exception("value too long")), 422),
        (sa.OperationalError(SQL, (), ConnectionRefusedError("connection refused")), 503),
        (wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")), 503),
        (wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")), 503),
        (ConnectionRefusedError("connect call failed"), 503),
        (RedisConnectionError("Error 111 connecting"), 503),
        # a deployment fault (migrations not run): not the client's, and retrying may succeed once fixed
        (wrapped(asyncpg.exceptions.UndefinedTableError('relation "twins" does not exist')), 503),
        (ResponseError("ERR Error running script"), 500),
    ],
)
def test_store_errors_map_to_the_client_or_the_service(exc: Exception, status: int) -> None:
    assert store_error_status(exc) == status


@pytest.fixture
async def failing() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/nul")
    async def nul() -> None:
        raise wrapped(asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape sequence"))

    @app.get("/down")
    async def down() -> None:
        raise sa.OperationalError(SQL, ("m-1",), ConnectionRefusedError("127.0.0.1:5432 refused"))

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError(f"internal state {SQL}")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.mark.parametrize(("path", "status"), [("/nul", 422), ("/down", 503), ("/bug", 500)])
async def test_no_response_body_carries_sql_or_a_driver_message(
    failing: httpx.AsyncClient, path: str, status: int
) -> None:
    r = await failing.get(path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    for leak in ("INSERT", "twins", "VARCHAR", "Unicode", "127.0.0.1", "Error", "internal state"):
        assert leak not in r.text, r.text
    assert r.json()["detail"]
