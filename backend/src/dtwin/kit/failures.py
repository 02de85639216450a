"""Infrastructure failure or not: the one rule that decides whether an error is worth retrying.

An infrastructure failure (a connection refused or lost, a timeout, a server that is starting, a broker that
is unavailable, also a deployment fault such as a missing table) is not the input's fault and may go away:
the work is retried, bounded and visibly. Anything else (a constraint or data error, an encoding error, a
script error, a bug) fails the same way every time for the same input: retrying it would stall whatever waits
behind it, so the input that causes it is set aside instead (the consumer dead-letters the message, the API
answers 4xx). Decided by exception type, never by message text.

The driver libraries are looked up among the modules the process has loaded, never imported here: an error
of a library that is not loaded cannot occur, and the bridge (Kafka and MQTT only) starts without
SQLAlchemy and asyncpg."""

from __future__ import annotations

import asyncio
import sys
from types import ModuleType


def _loaded(name: str) -> ModuleType | None:
    return sys.modules.get(name)


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
    for judge in (_asyncpg, _redis, _sqlalchemy, _kafka):
        verdict = judge(exc)
        if verdict is not None:
            return verdict
    if isinstance(exc, OSError | asyncio.TimeoutError | ConnectionError):
        return True
    return None


def _asyncpg(exc: BaseException) -> bool | None:
    pg = _loaded("asyncpg.exceptions")
    client = _loaded("asyncpg.exceptions._base")
    if pg is None or client is None:
        return None
    if isinstance(exc, client.DataError):
        return False  # asyncpg refused a parameter it cannot encode
    # connection lost or refused, server shutting down or starting, cancelled statement, out of resources
    # (connections, disk, memory), serialization failure or deadlock: all may succeed when tried again
    transient = (
        pg.InterfaceError,
        pg.PostgresConnectionError,
        pg.OperatorInterventionError,
        pg.InsufficientResourcesError,
        pg.TransactionRollbackError,
    )
    if isinstance(exc, transient):  # the COPY path talks to asyncpg directly
        return True
    # what PostgreSQL refuses because of the values themselves: SQLSTATE classes 22 (data exception, e.g. a
    # NUL byte, a number out of range), 23 (integrity constraint) and 54 (program limit exceeded)
    if isinstance(exc, pg.DataError | pg.IntegrityConstraintViolationError | pg.ProgramLimitExceededError):
        return False
    if isinstance(exc, pg.PostgresError):
        return True  # a missing table, a permission, a server fault: not the message's fault; retried, loud
    return None


def _redis(exc: BaseException) -> bool | None:
    r = _loaded("redis.exceptions")
    if r is None or not isinstance(exc, r.RedisError):
        return None
    transient = (
        r.ConnectionError,  # includes BusyLoadingError
        r.TimeoutError,
        r.ReadOnlyError,
        r.TryAgainError,
        r.ClusterDownError,
        r.OutOfMemoryError,  # maxmemory reached: may clear
    )
    return isinstance(exc, transient)  # else a script or command error


def _sqlalchemy(exc: BaseException) -> bool | None:
    sa = _loaded("sqlalchemy.exc")
    if sa is None:
        return None
    if isinstance(exc, sa.DBAPIError):
        # a lost connection, an unreachable server, a cancelled or timed-out statement, too many clients
        return bool(exc.connection_invalidated) or isinstance(exc, sa.OperationalError | sa.InterfaceError)
    if isinstance(exc, sa.TimeoutError | sa.DisconnectionError):
        return True
    return None


def _kafka(exc: BaseException) -> bool | None:
    k = _loaded("aiokafka.errors")
    if k is None or not isinstance(exc, k.KafkaError):
        return None
    if isinstance(exc, k.KafkaConnectionError | k.KafkaTimeoutError):
        return True
    return bool(getattr(exc, "retriable", False))
