"""Daily range partitions on plain PostgreSQL (reading_rows, readings_10s, readings_1m): what exists, creating
days ahead (and days that rows in the DEFAULT partition belong to, moving those rows), and removing a day.

Partition names: `<table>_pYYYYMMDD` for a UTC day; `<table>_default` (DEFAULT) and `reading_rows_legacy`
(the readings of a table that existed before partitioning, [MINVALUE, its cut)) are kept as they are.
Table names come from PARTITIONED, never from input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PARTITIONED: dict[str, str] = {"reading_rows": "ts", "readings_10s": "bucket", "readings_1m": "bucket"}
_BOUND = re.compile(r"FROM \((MINVALUE|'[^']+')\) TO \((MAXVALUE|'[^']+')\)")


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    lo: datetime | None  # None: MINVALUE
    hi: datetime | None  # None: MAXVALUE
    default: bool = False

    def covers_day(self, day: date) -> bool:
        """The partition holds exactly that UTC day (a daily partition)."""
        lo, hi = day_bounds(day)
        return not self.default and self.lo == lo and self.hi == hi

    def overlaps(self, lo: datetime, hi: datetime) -> bool:
        if self.default:
            return True
        return (self.lo is None or self.lo < hi) and (self.hi is None or self.hi > lo)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def _literal(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("'%Y-%m-%d %H:%M:%S+00'")


def _parse(bound: str) -> datetime | None:
    if bound in ("MINVALUE", "MAXVALUE"):
        return None
    return datetime.fromisoformat(bound.strip("'").replace("+00", "+00:00")).astimezone(UTC)


async def is_partitioned(session: AsyncSession, table: str) -> bool:
    row = (
        await session.execute(
            text(
                "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                "WHERE c.relname = :t"
            ),
            {"t": table},
        )
    ).first()
    return row is not None


async def partitions(session: AsyncSession, table: str) -> list[Partition]:
    """The table's partitions, oldest first (the default partition last)."""
    await session.execute(text("SET LOCAL TimeZone = 'UTC'"))  # bounds are rendered in the session's zone
    rows = await session.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :t"
        ),
        {"t": table},
    )
    out = []
    for name, bound in rows:
        if bound == "DEFAULT":
            out.append(Partition(name, None, None, default=True))
            continue
        m = _BOUND.search(bound)
        if m is None:
            continue
        out.append(Partition(name, _parse(m.group(1)), _parse(m.group(2))))
    min_ts = datetime.min.replace(tzinfo=UTC)
    return sorted(out, key=lambda p: (p.default, p.lo or min_ts))


async def ensure_days(session: AsyncSession, table: str, days: list[date]) -> list[str]:
    """Create the daily partitions of `days` that no partition covers yet. Rows of such a day already in
    the DEFAULT partition move into the new partition (PostgreSQL refuses the partition otherwise).
    Returns the partitions created."""
    column = PARTITIONED[table]
    existing = await partitions(session, table)
    default = next((p for p in existing if p.default), None)
    created = []
    for day in sorted(set(days)):
        lo, hi = day_bounds(day)
        if any(not p.default and p.overlaps(lo, hi) for p in existing):
            continue
        name = f"{table}_p{day:%Y%m%d}"
        bounds = f"FROM ({_literal(lo)}) TO ({_literal(hi)})"
        stray = False
        if default is not None:
            stray = (
                await session.execute(
                    text(f"SELECT 1 FROM {default.name} WHERE {column} >= :lo AND {column} < :hi LIMIT 1"),  # noqa: S608
                    {"lo": lo, "hi": hi},
                )
            ).first() is not None
        if stray and default is not None:
            await session.execute(
                text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            )
            where = f"{column} >= :lo AND {column} < :hi"
            await session.execute(
                text(
                    f"WITH moved AS (DELETE FROM {default.name} WHERE {where} RETURNING *) "  # noqa: S608
                    f"INSERT INTO {name} SELECT * FROM moved"
                ),
                {"lo": lo, "hi": hi},
            )
            await session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {bounds}"))
        else:
            await session.execute(text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES {bounds}"))
        existing.append(Partition(name, lo, hi))
        created.append(name)
    return created


async def remove_day(session: AsyncSession, table: str, day: date) -> tuple[str, int]:
    """Remove the rows of one UTC day: drop its daily partition, or delete the day's rows from a partition
    spanning more (legacy, default). Returns (how, rows removed by a delete; -1 for a dropped partition)."""
    column = PARTITIONED[table]
    lo, hi = day_bounds(day)
    removed = 0
    how = "delete"
    for p in await partitions(session, table):
        if p.covers_day(day):
            await session.execute(text(f"ALTER TABLE {table} DETACH PARTITION {p.name}"))
            await session.execute(text(f"DROP TABLE {p.name}"))
            how, removed = "drop", -1
        elif p.overlaps(lo, hi):
            res = await session.execute(
                text(f"DELETE FROM {p.name} WHERE {column} >= :lo AND {column} < :hi"),  # noqa: S608
                {"lo": lo, "hi": hi},
            )
            removed += int(res.rowcount)  # type: ignore[attr-defined]
    return how, removed


async def lock_day(session: AsyncSession, table: str, day: date) -> None:
    """Block writes to the partitions holding the day until this transaction ends (SHARE: reads go on)."""
    lo, hi = day_bounds(day)
    for p in await partitions(session, table):
        if p.overlaps(lo, hi):
            await session.execute(text(f"LOCK TABLE {p.name} IN SHARE MODE"))
