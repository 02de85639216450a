"""Writing readings on plain PostgreSQL: one row of `reading_rows` per machine-instant (migration 0020).

A row holds the instant's values as a `float8[]` in the order of its sensor set (an id in `sensor_sets` per
distinct sorted list of sensor names), the message's quality, and per-sensor qualities only where one differs
(a reading data quality marked bad). The `readings` view gives readers the narrow columns back.

Writes are idempotent like the narrow table's, through the same writers (dtwin.core.db `copy_if_new`, then
`insert_new` on a redelivery): primary key (machine_id, ts, set_id). Two messages of one machine at one
instant with different sensor sets are two rows (both kept); the same set at the same instant is stored
once.

Sensor-set ids are cached per engine (a set is never changed or removed, so an id once committed stays
right); a set first seen is inserted in the writing transaction and cached only after it commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import after_commit, asyncpg_of, copy_if_new, insert_new
from dtwin.readings.binary_copy import encode_reading_rows

RAW_TABLE = "reading_rows"
WIDE_COLUMNS = ("machine_id", "ts", "set_id", "values", "quality", "qualities")
# its columns for the shared COPY and staging writers (dtwin.core.db); migration 0020 owns the table, so it
# stays out of the models' metadata (SQLite and TimescaleDB have none)
READING_ROWS = Table(
    RAW_TABLE,
    MetaData(),
    Column("machine_id", String(128)),
    Column("ts", DateTime(timezone=True)),
    Column("set_id", Integer),
    Column("values", ARRAY(Float)),
    Column("quality", String(10)),
    Column("qualities", ARRAY(Text)),
)
SET_CACHE_MAX = 10_000  # distinct sensor sets remembered per engine (cleared when full: ids stay valid)
LATE_CANDIDATE_S = 20.0  # this process's clock is at or after the transaction's start: a superset of late

# late readings (stamped more than 30 s before this transaction began) mark their 10-second buckets dirty
# (dtwin.lifecycle.refresher): from the staging table, or from arrays of the rows copied straight in
_MARK_LATE_STAGE = (
    "INSERT INTO rollup_dirty (machine_id, sensor, bucket) SELECT DISTINCT r.machine_id, u.sensor, "
    "date_bin(INTERVAL '10 seconds', r.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') FROM reading_rows_stage r "
    "JOIN sensor_sets s ON s.id = r.set_id CROSS JOIN LATERAL unnest(s.sensors) AS u(sensor) "
    "WHERE r.ts < now() - INTERVAL '30 seconds' ON CONFLICT DO NOTHING"
)
_MARK_LATE_ROWS = (
    "INSERT INTO rollup_dirty (machine_id, sensor, bucket) SELECT DISTINCT r.machine_id, u.sensor, "
    "date_bin(INTERVAL '10 seconds', r.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') "
    "FROM unnest($1::text[], $2::timestamptz[], $3::int[]) AS r(machine_id, ts, set_id) "
    "JOIN sensor_sets s ON s.id = r.set_id CROSS JOIN LATERAL unnest(s.sensors) AS u(sensor) "
    "WHERE r.ts < now() - INTERVAL '30 seconds' ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class Instant:
    """One machine's readings at one instant, as a message brought them, with its quality; `qualities`
    gives the readings whose quality differs from it (data quality marks a reading "bad"), or is None."""

    machine_id: str
    ts: datetime
    quality: str
    readings: Mapping[str, float]
    qualities: Mapping[str, str] | None = None


def instants_of(rows: Iterable[Sequence[Any]]) -> list[Instant]:
    """Group (machine, sensor, ts, value, quality) rows by machine and instant, in the order first seen (the
    first value of a sensor at an instant stays, as the table's key would have it)."""
    groups: dict[tuple[str, datetime], tuple[dict[str, float], dict[str, str]]] = {}
    for machine_id, sensor, ts, value, quality in rows:
        g = groups.get((machine_id, ts))
        if g is None:
            g = groups[(machine_id, ts)] = ({}, {})
        if sensor not in g[0]:
            g[0][sensor] = value
            g[1][sensor] = quality
    out = []
    for (machine_id, ts), (readings, quals) in groups.items():
        first = next(iter(quals.values()))
        mixed = any(q != first for q in quals.values())
        out.append(Instant(machine_id, ts, first, readings, quals if mixed else None))
    return out


def reading_tuples(instants: Iterable[Instant]) -> list[tuple[str, str, datetime, float, str]]:
    """The narrow rows of instants (machine, sensor, ts, value, quality)."""
    rows: list[tuple[str, str, datetime, float, str]] = []
    for i in instants:
        if i.qualities:
            qs = i.qualities
            rows.extend((i.machine_id, s, i.ts, v, qs.get(s, i.quality)) for s, v in i.readings.items())
        else:
            rows.extend((i.machine_id, s, i.ts, v, i.quality) for s, v in i.readings.items())
    return rows


class _Sets:
    """Per engine: the sensor-set id of each message key order (a tuple of names as the message had them),
    with the set's sorted names and whether the message order is already sorted."""

    def __init__(self) -> None:
        self.by_order: dict[tuple[str, ...], tuple[int, tuple[str, ...], bool]] = {}
        self.by_names: dict[tuple[str, ...], int] = {}


_SETS: WeakKeyDictionary[Any, _Sets] = WeakKeyDictionary()


def _sets_of(session: AsyncSession) -> _Sets:
    bind = session.get_bind()
    sets = _SETS.get(bind)
    if sets is None:
        sets = _SETS[bind] = _Sets()
    return sets


async def _resolve(session: AsyncSession, orders: set[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
    """Set ids of these message key orders, inserting sets first seen (cached after the commit)."""
    sets = _sets_of(session)
    known = {o: sets.by_order[o] for o in orders if o in sets.by_order}
    missing = orders - known.keys()
    if not missing:
        return known
    driver = await asyncpg_of(session)
    fresh: dict[tuple[str, ...], int] = {}
    # in one order everywhere: two writers creating the same new sets never wait on each other in a cycle
    for order in sorted(missing, key=sorted):
        names = tuple(sorted(order))
        set_id = sets.by_names.get(names) or fresh.get(names)
        if set_id is None:
            set_id = await driver.fetchval(
                "INSERT INTO sensor_sets (sensors) VALUES ($1) ON CONFLICT (sensors) DO NOTHING RETURNING id",
                list(names),
            )
            if set_id is None:  # stored already (by another process, or committed earlier)
                set_id = await driver.fetchval("SELECT id FROM sensor_sets WHERE sensors = $1", list(names))
            fresh[names] = int(set_id)
        known[order] = (int(set_id), names, names == order)

    def remember() -> None:
        if len(sets.by_order) + len(missing) > SET_CACHE_MAX:
            sets.by_order.clear()
            sets.by_names.clear()
        sets.by_names.update(fresh)
        for order in missing:
            sets.by_order[order] = known[order]

    after_commit(session, remember)
    return known


async def wide_rows(session: AsyncSession, instants: Sequence[Instant]) -> tuple[list[tuple[Any, ...]], int]:
    """COPY records of instants (WIDE_COLUMNS order) and the number of readings they hold."""
    orders = [tuple(i.readings) for i in instants]
    ids = await _resolve(session, set(orders))
    records: list[tuple[Any, ...]] = []
    count = 0
    for i, order in zip(instants, orders, strict=True):
        set_id, names, in_order = ids[order]
        r = i.readings
        values = list(r.values()) if in_order else [r[s] for s in names]
        qualities = None
        if i.qualities:
            qs = i.qualities
            qualities = [qs.get(s, i.quality) for s in names]
        records.append((i.machine_id, i.ts, set_id, values, i.quality, qualities))
        count += len(values)
    return records, count


async def insert_instants(session: AsyncSession, instants: Sequence[Instant], *, mark_late: bool) -> int:
    """Store instants, skipping rows already stored; returns the readings inserted. `mark_late`: mark the
    10-second rollup buckets of late readings dirty in the same transaction (rollups kept by the
    refresher; not for a restore from the archive, whose readings the rollups already hold)."""
    instants = [i for i in instants if i.readings]  # a message of reported settings only: no row
    if not instants:
        return 0
    records, count = await wide_rows(session, instants)
    encoded = encode_reading_rows(records)
    if await copy_if_new(session, READING_ROWS, WIDE_COLUMNS, records, encoded=encoded) is None:  # merge
        mark = _MARK_LATE_STAGE if mark_late else None
        return await insert_new(
            session, READING_ROWS, WIDE_COLUMNS, records, after_merge=mark, count="cardinality(values)"
        )
    if mark_late:
        cutoff = datetime.now(UTC) - timedelta(seconds=LATE_CANDIDATE_S)
        late = [r for r in records if r[1] < cutoff]
        if late:
            await (await asyncpg_of(session)).execute(
                _MARK_LATE_ROWS, [r[0] for r in late], [r[1] for r in late], [r[2] for r in late]
            )
    return count
