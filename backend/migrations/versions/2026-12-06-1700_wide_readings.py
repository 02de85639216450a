"""readings stored one row per machine-instant on plain PostgreSQL; `readings` becomes a view

Plain PostgreSQL: `reading_rows` holds one row per machine and instant: the values as a `float8[]` in the
order of a sensor set (`sensor_sets`, an id per distinct sorted list of sensor names), the message's
quality, and per-sensor qualities only when they differ from it (a reading data quality marked bad). Primary
key (machine_id, ts, set_id): a redelivered message is stored once. It is range-partitioned by day like
readings was; each partition of readings becomes the partition of reading_rows with the same bounds
(`readings_pYYYYMMDD` -> `reading_rows_pYYYYMMDD`, the legacy and default partitions alike), rows copied
grouped by machine and instant. `readings` is then a view with the old columns (machine_id, sensor, ts,
value, quality), so every reader is unchanged; writers use reading_rows (dtwin.readings.repository).

Why: the COPY of one row per reading and its primary-key index were the largest share of the consumer's
batch; one row per machine-instant costs a third to a quarter of it (docs/decisions.md, #21).

TimescaleDB keeps the narrow hypertable (its continuous aggregates cannot unnest arrays, and its compression
is already columnar per machine and sensor); SQLite (embedded mode) keeps the narrow table.

Revision ID: 0020_wide_readings
Revises: 0019_report_leases
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_wide_readings"
down_revision: str | None = "0019_report_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = (
    "CREATE VIEW readings AS SELECT r.machine_id, u.sensor, r.ts, u.value, "
    "coalesce(u.quality, r.quality) AS quality "
    "FROM reading_rows r JOIN sensor_sets s ON s.id = r.set_id "
    "CROSS JOIN LATERAL unnest(s.sensors, r.values, r.qualities) AS u(sensor, value, quality)"
)


def _wide() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    row = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    return row is None


def _partitions(parent: str) -> list[tuple[str, str]]:
    """(name, bound expression) of each partition of `parent`."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :t ORDER BY c.relname"
        ),
        {"t": parent},
    )
    return [(str(name), str(bound)) for name, bound in rows]


def upgrade() -> None:
    if not _wide():
        return
    op.execute("SET LOCAL TimeZone = 'UTC'")
    op.execute(
        "CREATE TABLE sensor_sets (id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " sensors TEXT[] NOT NULL, CONSTRAINT uq_sensor_sets_sensors UNIQUE (sensors))"
    )
    op.execute(
        "CREATE TABLE reading_rows ("
        " machine_id VARCHAR(128) NOT NULL, ts TIMESTAMPTZ NOT NULL, set_id INTEGER NOT NULL,"
        " values DOUBLE PRECISION[] NOT NULL, quality VARCHAR(10) NOT NULL DEFAULT 'good', qualities TEXT[],"
        " CONSTRAINT pk_reading_rows PRIMARY KEY (machine_id, ts, set_id)"
        ") PARTITION BY RANGE (ts)"
    )
    op.execute("CREATE INDEX ix_reading_rows_ts_brin ON reading_rows USING brin (ts)")
    for name, bound in _partitions("readings"):
        new = "reading_rows" + name.removeprefix("readings")
        op.execute(f"CREATE TABLE {new} PARTITION OF reading_rows {bound}")
    if not _partitions("readings"):  # an unpartitioned readings (never the case after 0013): a default
        op.execute("CREATE TABLE reading_rows_default PARTITION OF reading_rows DEFAULT")
    # sets are sorted lists of sensor names; a group's values follow its set's order
    op.execute(
        "INSERT INTO sensor_sets (sensors) SELECT DISTINCT sensors FROM ("
        " SELECT array_agg(sensor::text ORDER BY sensor) AS sensors FROM readings GROUP BY machine_id, ts) g"
    )
    op.execute(
        "INSERT INTO reading_rows (machine_id, ts, set_id, values, quality, qualities) "
        "SELECT g.machine_id, g.ts, s.id, g.values, g.quality, "
        "CASE WHEN g.mixed THEN g.qualities END FROM ("
        " SELECT machine_id, ts, array_agg(sensor::text ORDER BY sensor) AS sensors,"
        " array_agg(value ORDER BY sensor) AS values, min(quality) AS quality,"
        " array_agg(quality::text ORDER BY sensor) AS qualities, count(DISTINCT quality) > 1 AS mixed"
        " FROM readings GROUP BY machine_id, ts) g JOIN sensor_sets s ON s.sensors = g.sensors"
    )
    op.execute("DROP TABLE readings CASCADE")
    op.execute(VIEW)


def downgrade() -> None:
    if not _wide():
        return
    op.execute("SET LOCAL TimeZone = 'UTC'")
    op.execute("ALTER VIEW readings RENAME TO readings_wide")
    op.execute(
        "CREATE TABLE readings ("
        " machine_id VARCHAR(128) NOT NULL, sensor VARCHAR(64) NOT NULL, ts TIMESTAMPTZ NOT NULL,"
        " value DOUBLE PRECISION NOT NULL, quality VARCHAR(10) NOT NULL DEFAULT 'good',"
        " CONSTRAINT pk_readings PRIMARY KEY (machine_id, sensor, ts)"
        ") PARTITION BY RANGE (ts)"
    )
    op.execute("CREATE INDEX ix_readings_ts_brin ON readings USING brin (ts)")
    for name, bound in _partitions("reading_rows"):
        op.execute(f"CREATE TABLE readings{name.removeprefix('reading_rows')} PARTITION OF readings {bound}")
    op.execute(
        "INSERT INTO readings SELECT machine_id, sensor, ts, value, quality FROM readings_wide "
        "ON CONFLICT DO NOTHING"
    )
    op.execute("DROP VIEW readings_wide")
    op.execute("DROP TABLE reading_rows")
    op.execute("DROP TABLE sensor_sets")
