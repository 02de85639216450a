"""The binary COPY writer for reading rows (readings/binary_copy.py) writes exactly what PostgreSQL itself
writes for the same rows (`COPY ... TO STDOUT (FORMAT binary)`), and PostgreSQL reads it back to the same
values: odd values, non-ASCII ids, instants before 2000, per-sensor qualities and arrays of every length."""

import io
from datetime import UTC, datetime, timedelta

import asyncpg

from dtwin.readings.binary_copy import encode_reading_rows

T0 = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)


def rows() -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = [
        (
            f"pump-{i:04d}",
            T0 + timedelta(microseconds=i % 7),
            3 + i % 2,
            [1.5 * j + i + 0.1 for j in range(1 + i % 12)],
            "good" if i % 5 else "uncertain",
            None if i % 11 else ["bad", "gööd", *["good"] * (i % 12)],
        )
        for i in range(600)
    ]
    out.append(
        (
            "ümlaut-ß",
            datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            1,
            [-0.0, 1e300, -1e-300, 5e-324],
            "bad",
            None,
        )
    )
    return out


async def test_the_encoding_is_postgresqls_own_and_reads_back(pg_url: str, uid: str) -> None:
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    table = f"copy_{uid}".replace("-", "_")
    try:
        await conn.execute(
            f"CREATE TEMP TABLE {table} (machine_id text, ts timestamptz, set_id int, values float8[], "
            "quality text, qualities text[])"
        )
        written = rows()
        await conn.copy_to_table(table, source=memoryview(encode_reading_rows(written)), format="binary")
        back = await conn.fetch(f'SELECT * FROM {table} ORDER BY machine_id COLLATE "C", ts, set_id')
        ordered = sorted(written, key=lambda r: (str(r[0]).encode(), r[1], r[2]))
        assert [tuple(r) for r in back] == ordered
        out = io.BytesIO()
        await conn.copy_from_query(
            f'SELECT * FROM {table} ORDER BY machine_id COLLATE "C", ts, set_id', output=out, format="binary"
        )
        assert out.getvalue() == encode_reading_rows(ordered)
    finally:
        await conn.close()
