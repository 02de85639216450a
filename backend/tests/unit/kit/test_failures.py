"""Infrastructure or input: the rule that decides what the consumer retries and what it dead-letters (and
which store errors the API answers with 503)."""

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from asyncpg import exceptions as pg
from asyncpg.exceptions import _base as pg_client
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa

from dtwin.kit.failures import describe, is_infrastructure


def wrapped(driver_error: BaseException, sa_class: type[sa.DBAPIError]) -> BaseException:
    """As SQLAlchemy raises it: its error, with the adapter's error as `orig` caused by the driver's."""
    adapter = Exception("adapter")
    adapter.__cause__ = driver_error
    outer = sa_class("INSERT ...", {}, adapter)
    outer.__cause__ = adapter
    return outer


@pytest.mark.parametrize(
    ("exc", "infrastructure"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (redis_errors.ConnectionError("refused"), True),
        (redis_errors.BusyLoadingError("loading"), True),
        (redis_errors.OutOfMemoryError("OOM"), True),
        (redis_errors.ResponseError("Error running script: too many results to unpack"), False),
        (pg.ConnectionDoesNotExistError("lost"), True),
        (pg.CannotConnectNowError("starting"), True),
        (pg.TooManyConnectionsError("full"), True),
        (pg.SerializationError("retry"), True),
        (pg.UndefinedTableError("no table"), True),  # a deployment fault, not the message's
        (pg.CharacterNotInRepertoireError("NUL"), False),
        (pg.NumericValueOutOfRangeError("big"), False),
        (pg.UniqueViolationError("dup"), False),
        (wrapped(pg_client.DataError("invalid input for query argument $1"), sa.InterfaceError), False),
        (wrapped(pg_client.InterfaceError("connection is closed"), sa.InterfaceError), True),
        (wrapped(pg.CharacterNotInRepertoireError("NUL"), sa.DataError), False),
        (wrapped(Exception("database is locked"), sa.OperationalError), True),  # SQLite
        (wrapped(Exception("UNIQUE constraint failed"), sa.IntegrityError), False),  # SQLite
        (KafkaConnectionError(), True),
        (KafkaTimeoutError(), True),
        (MessageSizeTooLargeError(), False),
        (TypeError("Recursion limit reached"), False),  # orjson on a too deep document
        (ValueError("bad"), False),
    ],
)
def test_infrastructure_or_input(exc: BaseException, infrastructure: bool) -> None:
    assert is_infrastructure(exc) is infrastructure


def test_the_innermost_known_error_decides() -> None:
    stage = RuntimeError("database: InterfaceError")
    stage.__cause__ = wrapped(pg_client.DataError("invalid input"), sa.InterfaceError)
    assert not is_infrastructure(stage)


def test_a_description_carries_no_statement_or_parameters() -> None:
    exc = wrapped(
        pg.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00'), sa.DataError
    )
    assert "INSERT" in str(exc)  # SQLAlchemy's own text has the statement
    text = describe(exc)
    assert text == 'DataError: CharacterNotInRepertoireError: invalid byte sequence for encoding "UTF8": 0x00'
