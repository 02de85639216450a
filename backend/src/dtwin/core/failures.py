"""Infrastructure failure or not: the one rule that decides whether an error is worth retrying.

An infrastructure failure (a connection refused or lost, a timeout, a server that is starting, a broker that
is unavailable, also a deployment fault such as a missing table) is not the input's fault and may go away:
the work is retried, bounded and visibly. Anything else (a constraint
or data error, an encoding error, a script error, a bug) fails the same way every time for the same input:
retrying it would stall whatever waits behind it, so the input that causes it is set aside instead (the
consumer dead-letters the message, the API answers 4xx). Decided by exception type, never by message text."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from asyncpg import exceptions as pg_errors
from asyncpg.exceptions import _base as pg_client_errors
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

_REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # includes BusyLoadingError
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.TryAgainError,
    redis_errors.ClusterDownError,
)

# connection lost or refused, server shutting down or starting, cancelled statement, out of resources
# (connections, disk, memory), serialization failure or deadlock: all may succeed when tried again
_ASYNCPG_TRANSIENT: tuple[type[BaseException], ...] = (
    pg_errors.InterfaceError,
    pg_errors.PostgresConnectionError,
    pg_errors.OperatorInterventionError,
    pg_errors.InsufficientResourcesError,
    pg_errors.TransactionRollbackError,
)


# what PostgreSQL refuses because of the values themselves: SQLSTATE classes 22 (data exception, e.g. a NUL
# byte, a number out of range), 23 (integrity constraint) and 54 (program limit exceeded)
_PG_INPUT: tuple[type[BaseException], ...] = (
    pg_errors.DataError,
    pg_errors.IntegrityConstraintViolationError,
    pg_errors.ProgramLimitExceededError,
)


def error_chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (SQLAlchemy's `orig`, the driver's error) and its causes, a few levels
    deep, outermost first."""
    seen: set[int] = set()
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(out) < 8:
        cur = todo.pop(0)
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        out.append(cur)
        orig = getattr(cur, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, cur.__cause__]
    return out


def describe(exc: BaseException) -> str:
    """A short description for people (readiness checks, dead-letter reasons): the error's type and the
    first line of the innermost error's message, never SQLAlchemy's statement text or parameters."""
    inner = error_chain(exc)[-1]
    first = str(inner).strip().split("\n", 1)[0][:200]
    name = type(exc).__name__
    return f"{name}: {first}" if inner is exc else f"{name}: {type(inner).__name__}: {first}"


def is_infrastructure(exc: BaseException) -> bool:
    """True when `exc` is a failure of a backing service rather than of the input. The innermost error of
    the chain we know decides: the driver says best what happened (SQLAlchemy reports asyncpg refusing a
    parameter as an InterfaceError, like a closed connection)."""
    for err in reversed(error_chain(exc)):
        verdict = _verdict(err)
        if verdict is not None:
            return verdict
    return False


def _verdict(exc: BaseException) -> bool | None:
    """True (infrastructure), False (the input's fault) or None (not an error this module knows)."""
    if isinstance(exc, pg_client_errors.DataError):
        return False  # asyncpg refused a parameter it cannot encode
    if isinstance(exc, _ASYNCPG_TRANSIENT):  # the COPY path talks to asyncpg directly
        return True
    if isinstance(exc, _PG_INPUT):
        return False  # the server refused the values (data, constraint, size)
    if isinstance(exc, pg_errors.PostgresError):
        return True  # a missing table, a permission, a server fault: not the message's fault; retried, loud
    if isinstance(exc, OSError | asyncio.TimeoutError | ConnectionError):
        return True
    if isinstance(exc, _REDIS_TRANSIENT):
        return True
    if isinstance(exc, redis_errors.OutOfMemoryError):
        return True  # maxmemory reached: may clear
    if isinstance(exc, redis_errors.RedisError):
        return False  # a script or command error
    if isinstance(exc, sa_errors.DBAPIError):
        # a lost connection, an unreachable server, a cancelled or timed-out statement, too many clients
        return bool(exc.connection_invalidated) or isinstance(
            exc, sa_errors.OperationalError | sa_errors.InterfaceError
        )
    if isinstance(exc, sa_errors.TimeoutError | sa_errors.DisconnectionError):
        return True
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    return None
