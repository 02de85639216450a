"""Infrastructure failure or not: the one rule that decides whether an error is worth retrying.

An infrastructure failure (a connection refused or lost, a timeout, a server that is starting, a broker that
is unavailable) may go away by itself: the work is retried, bounded and visibly. Anything else (a constraint
or data error, an encoding error, a script error, a bug) fails the same way every time for the same input:
retrying it would stall whatever waits behind it, so the input that causes it is set aside instead (the
consumer dead-letters the message, the API answers 4xx). Decided by exception type, never by message text."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from asyncpg import exceptions as pg_errors
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


def is_infrastructure(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) is a failure of a backing service rather than of the input."""
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 5:
        if _transient(cur):
            return True
        cur = cur.__cause__
        seen += 1
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, OSError | asyncio.TimeoutError | ConnectionError):
        return True
    if isinstance(exc, _REDIS_TRANSIENT):
        return True
    if isinstance(exc, sa_errors.DBAPIError):
        # a lost connection, an unreachable server, a cancelled or timed-out statement, too many clients
        return bool(exc.connection_invalidated) or isinstance(
            exc, sa_errors.OperationalError | sa_errors.InterfaceError
        )
    if isinstance(exc, sa_errors.TimeoutError | sa_errors.DisconnectionError):
        return True
    if isinstance(exc, _ASYNCPG_TRANSIENT):  # the COPY path talks to asyncpg directly
        return True
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
