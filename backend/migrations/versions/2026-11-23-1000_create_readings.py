"""create readings table (hypertable on TimescaleDB, BRIN-indexed plain table on PostgreSQL)

Revision ID: 0001_readings
Revises:
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_readings"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timescaledb_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    row = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    return row is not None


def upgrade() -> None:
    op.create_table(
        "readings",
        sa.Column("machine_id", sa.String(128), nullable=False),
        sa.Column("sensor", sa.String(64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("quality", sa.String(10), nullable=False, server_default="good"),
        sa.PrimaryKeyConstraint("machine_id", "sensor", "ts", name="pk_readings"),
    )
    if _timescaledb_available():
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        op.execute(
            "SELECT create_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '1 day', "
            "if_not_exists => TRUE)"
        )
    elif op.get_bind().dialect.name == "postgresql":
        # time-ordered appends: a BRIN index keeps range scans over ts cheap at almost no write cost
        op.execute("CREATE INDEX ix_readings_ts_brin ON readings USING brin (ts)")
    else:
        op.create_index("ix_readings_ts", "readings", ["ts"])


def downgrade() -> None:
    op.drop_table("readings")
