"""stored rollups of readings at 10 s, 1 min, 1 h and 1 day (min, max, sum, count, first, last)

Plain PostgreSQL: tables `readings_10s`, `readings_1m` (partitioned by day, like readings, with a DEFAULT
partition), `readings_1h` and `readings_1d`, maintained by the lifecycle refresher
(dtwin.lifecycle.refresher): `rollup_state` holds each level's watermark (readings before it are in that
level), `rollup_dirty` the 10-second buckets (per machine and sensor) that late readings touched behind the
watermark (marked by the insert itself, dtwin.readings.repository). Daily buckets start at midnight in the
plant's time zone.

TimescaleDB: hierarchical continuous aggregates of the same names and columns with refresh policies (the
daily one in DTWIN_PLANT_TZ as it is when this migration runs); untested here (no TimescaleDB on our
machines).

SQLite (embedded mode): no rollups; history is aggregated from raw readings when asked.

Revision ID: 0014_rollups
Revises: 0013_partitions
Create Date: 2026-12-06 11:00:00
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0014_rollups"
down_revision: str | None = "0013_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("10s", "1m", "1h", "1d")
PARTITIONED = ("10s", "1m")
AHEAD_DAYS = 7


def _timescaledb() -> bool:
    row = op.get_bind().execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    return row is not None


def _day(d: datetime) -> str:
    return d.strftime("%Y-%m-%d 00:00:00+00")


def _timescale_upgrade() -> None:
    tz = str(ZoneInfo(os.environ.get("DTWIN_PLANT_TZ") or "UTC"))  # a known zone name, nothing else
    op.execute(
        "CREATE MATERIALIZED VIEW readings_10s WITH (timescaledb.continuous) AS "
        "SELECT machine_id, sensor, time_bucket(INTERVAL '10 seconds', ts) AS bucket, min(value) AS min, "
        "max(value) AS max, sum(value) AS sum, count(*) AS count, first(value, ts) AS first, "
        "last(value, ts) AS last FROM readings WHERE quality <> 'bad' GROUP BY 1, 2, 3 WITH NO DATA"
    )
    parents = {
        "1m": ("10s", "INTERVAL '1 minute', bucket"),
        "1h": ("1m", "INTERVAL '1 hour', bucket"),
        "1d": ("1h", f"INTERVAL '1 day', bucket, '{tz}'"),
    }
    for level, (source, args) in parents.items():
        op.execute(
            f"CREATE MATERIALIZED VIEW readings_{level} WITH (timescaledb.continuous) AS "  # noqa: S608
            f"SELECT machine_id, sensor, time_bucket({args}) AS bucket, min(min) AS min, max(max) AS max, "
            f"sum(sum) AS sum, sum(count)::bigint AS count, first(first, bucket) AS first, "
            f"last(last, bucket) AS last FROM readings_{source} GROUP BY 1, 2, 3 WITH NO DATA"
        )
    for level, start, end, every in (
        ("10s", "1 hour", "10 seconds", "10 seconds"),
        ("1m", "2 hours", "1 minute", "1 minute"),
        ("1h", "2 days", "1 hour", "10 minutes"),
        ("1d", "3 days", "1 day", "1 hour"),
    ):
        op.execute(
            f"SELECT add_continuous_aggregate_policy('readings_{level}', start_offset => INTERVAL '{start}', "
            f"end_offset => INTERVAL '{end}', schedule_interval => INTERVAL '{every}', if_not_exists => TRUE)"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if _timescaledb():
        _timescale_upgrade()
        return
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for level in LEVELS:
        table = f"readings_{level}"
        partition = " PARTITION BY RANGE (bucket)" if level in PARTITIONED else ""
        op.execute(
            f"CREATE TABLE {table} ("
            " machine_id VARCHAR(128) NOT NULL, sensor VARCHAR(64) NOT NULL, bucket TIMESTAMPTZ NOT NULL,"
            " min DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL, sum DOUBLE PRECISION NOT NULL,"
            " count BIGINT NOT NULL, first DOUBLE PRECISION NOT NULL, last DOUBLE PRECISION NOT NULL,"
            f" CONSTRAINT pk_{table} PRIMARY KEY (machine_id, sensor, bucket)){partition}"
        )
        op.execute(f"CREATE INDEX ix_{table}_bucket_brin ON {table} USING brin (bucket)")
        if level in PARTITIONED:
            for i in range(AHEAD_DAYS + 1):
                lo = today + timedelta(days=i)
                op.execute(
                    f"CREATE TABLE {table}_p{lo:%Y%m%d} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{_day(lo)}') TO ('{_day(lo + timedelta(days=1))}')"
                )
            op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )
    # rollups start where the data starts: the first refresh sets the watermark from the oldest reading
    op.create_table(
        "rollup_dirty",
        sa.Column("machine_id", sa.String(128), nullable=False),
        sa.Column("sensor", sa.String(64), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("machine_id", "sensor", "bucket", name="pk_rollup_dirty"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if _timescaledb():
        for level in reversed(LEVELS):
            op.execute(f"DROP MATERIALIZED VIEW IF EXISTS readings_{level}")
        return
    op.drop_table("rollup_dirty")
    op.drop_table("rollup_state")
    for level in reversed(LEVELS):
        op.execute(f"DROP TABLE readings_{level}")
