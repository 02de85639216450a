"""Database plumbing: engine/sessionmaker factory, declarative Base, and dialect helpers (TimescaleDB,
plain PostgreSQL, SQLite) so repositories and services never branch on the dialect themselves:
`dialect_insert` (upserts), `insert_new` (bulk insert that skips stored keys), `newest_per_group`,
`has_timescaledb` (time buckets: dtwin.readings.rollups)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    MetaData,
    Select,
    Table,
    TextClause,
    and_,
    bindparam,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz on PostgreSQL; on SQLite (no time zones) stored as UTC and given back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 5.0  # a pooled connection idle this long is pinged before it is handed out
_IDLE_SINCE = "dtwin_idle_since"


def ping_when_idle(engine: AsyncEngine, after_s: float = PING_AFTER_IDLE_S) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections that sat in the pool `after_s` or longer. The pre-ping
    of the asyncpg dialect is three round trips (BEGIN, `;`, ROLLBACK) on every checkout: 2.5-3.4 % of a
    backend's CPU at 50,000 readings/s, where the consumer checks a connection out several times a batch and
    each was last used milliseconds earlier. A connection that broke while in busy use fails its statement
    instead, which invalidates the pool (SQLAlchemy's disconnect handling) and is retried as any database
    error is (the consumer's batch retry, the API's 503); one that sat idle, e.g. across a database restart,
    is still replaced before use (docs/decisions.md)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or monotonic() - since < after_s:
            return  # new, or back in the pool only moments ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool replaces the connection and checks out again
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: commit on success, roll back on error."""
    async with sessions() as session, session.begin():
        yield session


def dialect_name(session_or_engine: AsyncSession | AsyncEngine) -> str:
    if isinstance(session_or_engine, AsyncSession):
        return session_or_engine.get_bind().dialect.name
    return session_or_engine.dialect.name


def dialect_insert(session: AsyncSession) -> Any:
    """The dialect's `insert` (PostgreSQL or SQLite), which has `on_conflict_do_nothing/do_update`."""
    return pg_insert if dialect_name(session) == "postgresql" else sqlite_insert


async def asyncpg_of(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's (in its transaction), for what SQLAlchemy does not do:
    COPY, and statements with array parameters sent as they are."""
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


def _table(model: type[Base] | Table) -> Table:
    return model if isinstance(model, Table) else cast(Table, model.__table__)


async def insert_new(
    session: AsyncSession,
    model: type[Base] | Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    after_merge: str | None = None,
    count: str | None = None,
) -> int:
    """Insert `rows` of `model`'s table (values in `columns` order), skipping those whose key is already
    stored, so a redelivered batch inserts nothing twice. PostgreSQL: COPY into a temporary staging table,
    then one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` inside the session's transaction (returns the
    rows inserted, or the sum of the SQL expression `count` over them); SQLite: `INSERT OR IGNORE` (returns
    the rows offered). Table and column names come from the model, never from input. `after_merge`
    (PostgreSQL): a statement run in the same transaction while the staging table `<table>_stage` still
    holds the batch (e.g. to mark what the batch touched)."""
    if not rows:
        return 0
    table = _table(model)
    if dialect_name(session) == "postgresql":
        # DDL and merge go through SQLAlchemy so they run inside the session's transaction; only the COPY
        # itself uses the asyncpg connection directly
        conn = await session.connection()
        stage = f"{table.name}_stage"
        names = ", ".join(columns)
        typed = ", ".join(f"{c} {table.c[c].type.compile(dialect=conn.dialect)}" for c in columns)
        await conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({typed}) ON COMMIT DELETE ROWS")
        await (await asyncpg_of(session)).copy_records_to_table(stage, records=rows, columns=list(columns))
        merge = f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING"  # noqa: S608
        if count is None:
            inserted = int((await conn.exec_driver_sql(merge)).rowcount)
        else:
            summed = f"WITH ins AS ({merge} RETURNING {count} AS n) SELECT coalesce(sum(n), 0) FROM ins"  # noqa: S608
            inserted = int((await conn.exec_driver_sql(summed)).scalar_one())
        if after_merge is not None:
            await conn.exec_driver_sql(after_merge)
        await conn.exec_driver_sql(f"TRUNCATE {stage}")
        return inserted
    await session.execute(
        sqlite_insert(table).on_conflict_do_nothing(), [dict(zip(columns, r, strict=True)) for r in rows]
    )
    return len(rows)


async def copy_if_new(
    session: AsyncSession,
    model: type[Base] | Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    encoded: bytes | None = None,
) -> int | None:
    """PostgreSQL: COPY `rows` straight into `model`'s table inside a savepoint (half the database's work
    of `insert_new`'s staging table and merge). Returns the rows inserted, or None when one of them is
    already stored (a redelivered batch): the savepoint is rolled back, nothing of them is written, and the
    caller takes `insert_new`'s path. `encoded`: the rows already in the binary COPY format (sent as they
    are instead of asyncpg encoding `rows`)."""
    import asyncpg

    if not rows:
        return 0
    table = _table(model)
    conn = await session.connection()
    driver = await asyncpg_of(session)
    try:
        async with conn.begin_nested():
            if encoded is None:
                await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
            else:  # a memoryview: asyncpg takes bytes for a file name
                await driver.copy_to_table(
                    table.name, source=memoryview(encoded), columns=list(columns), format="binary"
                )
    except asyncpg.exceptions.UniqueViolationError:
        return None
    return len(rows)


def ts_text(sql: str, *timestamps: str) -> TextClause:
    """A textual statement whose named parameters `timestamps` are UTC datetimes (bound as UTCDateTime, so
    SQLite compares them with its stored text the same way PostgreSQL compares timestamptz)."""
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in timestamps))


def newest_per_group(
    session: AsyncSession,
    columns: Sequence[Any],
    *,
    keys: Sequence[Any],
    newest: Any,
    where: Sequence[ColumnElement[bool]] = (),
) -> Select[Any]:
    """SELECT `columns` of the newest row (by `newest`) of each group of `keys` among the rows `where` holds,
    ordered by the keys: `DISTINCT ON` on PostgreSQL, a join on each group's maximum elsewhere. `columns`,
    `keys` and `newest` are attributes of one mapped class (or the class itself among `columns`)."""
    if dialect_name(session) == "postgresql":
        return select(*columns).where(*where).order_by(*keys, newest.desc()).ext(distinct_on(*keys))
    latest = select(*keys, func.max(newest).label("newest")).where(*where).group_by(*keys).subquery()
    matches = [k == latest.c[k.key] for k in keys]
    return (
        select(*columns).join(latest, and_(*matches, newest == latest.c.newest)).where(*where).order_by(*keys)
    )


def after_commit(session: AsyncSession, hook: Callable[[], None]) -> None:
    """Call `hook` once, right after this session's transaction committed (not if it rolls back): for
    in-memory copies that must change only with what is durable. The hook runs inside the commit: keep it
    quick and free of I/O."""
    event.listen(session.sync_session, "after_commit", lambda _session: hook(), once=True)


async def has_timescaledb(session: AsyncSession) -> bool:
    """Whether the connected PostgreSQL has the timescaledb extension installed (cached per engine)."""
    bind = session.get_bind()
    cached: bool | None = bind.info.get("has_timescaledb") if hasattr(bind, "info") else None
    if cached is not None:
        return cached

    found = False
    if bind.dialect.name == "postgresql":
        found = (
            await session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"))
        ).first() is not None
    if hasattr(bind, "info"):
        bind.info["has_timescaledb"] = found
    return found
