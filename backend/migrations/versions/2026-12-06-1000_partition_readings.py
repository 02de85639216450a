"""readings partitioned by day: native range partitions on plain PostgreSQL, compression on TimescaleDB

Plain PostgreSQL: the existing table becomes `readings_legacy`. If it holds rows it is attached whole as the
partition [MINVALUE, tomorrow) (a CHECK constraint is validated first, so the attach itself scans nothing);
an empty one is dropped. Daily partitions `readings_pYYYYMMDD` follow from tomorrow (today's when there was
no legacy data) for a week, and a DEFAULT partition catches anything else (old fixed-date test data, a
backfill): the lifecycle task creates partitions ahead and moves rows out of the default when it creates
the day they belong to (dtwin.lifecycle.partitions). The primary key (machine_id, sensor, ts) holds across
partitions (the partition key is part of it), so `INSERT ... ON CONFLICT DO NOTHING` keeps redelivery
idempotent.

TimescaleDB: readings is a hypertable since 0001 (daily chunks); here it gains compression segmented by
machine and sensor, compressing chunks older than 7 days (untested here: no TimescaleDB on our machines).

SQLite (embedded mode): nothing changes.

Revision ID: 0013_partitions
Revises: 0012_alarms
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0013_partitions"
down_revision: str | None = "0012_alarms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AHEAD_DAYS = 7


def _timescaledb() -> bool:
    row = op.get_bind().execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    return row is not None


def _day(d: datetime) -> str:
    return d.strftime("%Y-%m-%d 00:00:00+00")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if _timescaledb():
        op.execute(
            "ALTER TABLE readings SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'machine_id, sensor', timescaledb.compress_orderby = 'ts')"
        )
        op.execute("SELECT add_compression_policy('readings', INTERVAL '7 days', if_not_exists => TRUE)")
        return
    op.execute("ALTER TABLE readings RENAME TO readings_legacy")
    op.execute("ALTER TABLE readings_legacy RENAME CONSTRAINT pk_readings TO pk_readings_legacy")
    op.execute("ALTER INDEX IF EXISTS ix_readings_ts_brin RENAME TO ix_readings_legacy_ts_brin")
    op.execute(
        "CREATE TABLE readings ("
        " machine_id VARCHAR(128) NOT NULL, sensor VARCHAR(64) NOT NULL, ts TIMESTAMPTZ NOT NULL,"
        " value DOUBLE PRECISION NOT NULL, quality VARCHAR(10) NOT NULL DEFAULT 'good',"
        " CONSTRAINT pk_readings PRIMARY KEY (machine_id, sensor, ts)"
        ") PARTITION BY RANGE (ts)"
    )
    # per partition: time-ordered appends, so a BRIN index keeps ts range scans cheap at almost no write cost
    op.execute("CREATE INDEX ix_readings_ts_brin ON readings USING brin (ts)")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today
    if bind.execute(sa.text("SELECT 1 FROM readings_legacy LIMIT 1")).first() is not None:
        first = today + timedelta(days=1)
        op.execute(
            f"ALTER TABLE readings_legacy ADD CONSTRAINT ck_readings_legacy_ts CHECK (ts < '{_day(first)}')"
        )
        op.execute(
            "ALTER TABLE readings ATTACH PARTITION readings_legacy "
            f"FOR VALUES FROM (MINVALUE) TO ('{_day(first)}')"
        )
    else:
        op.execute("DROP TABLE readings_legacy")
    for i in range(AHEAD_DAYS + 1):
        lo = first + timedelta(days=i)
        op.execute(
            f"CREATE TABLE readings_p{lo:%Y%m%d} PARTITION OF readings "
            f"FOR VALUES FROM ('{_day(lo)}') TO ('{_day(lo + timedelta(days=1))}')"
        )
    op.execute("CREATE TABLE readings_default PARTITION OF readings DEFAULT")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if _timescaledb():
        op.execute("SELECT remove_compression_policy('readings', if_exists => TRUE)")
        return
    op.execute("ALTER TABLE readings RENAME TO readings_partitioned")
    op.execute("ALTER TABLE readings_partitioned RENAME CONSTRAINT pk_readings TO pk_readings_partitioned")
    op.execute("ALTER INDEX ix_readings_ts_brin RENAME TO ix_readings_partitioned_ts_brin")
    op.execute(
        "CREATE TABLE readings ("
        " machine_id VARCHAR(128) NOT NULL, sensor VARCHAR(64) NOT NULL, ts TIMESTAMPTZ NOT NULL,"
        " value DOUBLE PRECISION NOT NULL, quality VARCHAR(10) NOT NULL DEFAULT 'good',"
        " CONSTRAINT pk_readings PRIMARY KEY (machine_id, sensor, ts))"
    )
    op.execute("INSERT INTO readings SELECT machine_id, sensor, ts, value, quality FROM readings_partitioned")
    op.execute("DROP TABLE readings_partitioned")
    op.execute("CREATE INDEX ix_readings_ts_brin ON readings USING brin (ts)")
