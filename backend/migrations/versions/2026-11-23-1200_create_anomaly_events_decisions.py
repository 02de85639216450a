"""anomaly events and strategy decisions

Revision ID: 0004_anomalies
Revises: 0003_twins
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_anomalies"
down_revision: str | None = "0003_twins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "anomaly_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(128), nullable=False),
        sa.Column("machine_type", sa.String(64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("peak_score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("detector", sa.String(32), nullable=False),
        sa.Column("explanation", JSON, nullable=False),
    )
    op.create_index("ix_anomaly_events_machine_id_ts", "anomaly_events", ["machine_id", "ts"])
    op.create_table(
        "decisions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(128), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("opportunity", sa.Float(), nullable=False),
        sa.Column("stability", sa.Float(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
    )
    op.create_index("ix_decisions_machine_id_ts", "decisions", ["machine_id", "ts"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("anomaly_events")
