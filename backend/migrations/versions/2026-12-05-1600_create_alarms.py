"""alarms: threshold rules, alarms (one open per machine and condition) and their history

Revision ID: 0012_alarms
Revises: 0011_notifications
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_alarms"
down_revision: str | None = "0011_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alarm_rules",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("machine_type", sa.String(64), nullable=True),
        sa.Column("machine_id", sa.String(128), nullable=True),
        sa.Column("sensor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("deadband", sa.Float(), nullable=False),
        sa.Column("on_delay_s", sa.Float(), nullable=False),
        sa.Column("off_delay_s", sa.Float(), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "alarms",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(128), nullable=False),
        sa.Column("condition", sa.String(160), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rule_id", ID, nullable=True),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("machine_type", sa.String(64), nullable=True),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("line", sa.String(64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("shelved_until", TS, nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("out_of_service", sa.Boolean(), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("acked_at", TS, nullable=True),
        sa.Column("acked_by", sa.String(128), nullable=True),
        sa.Column("cleared_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
    )
    op.create_index(
        "uq_alarms_open",
        "alarms",
        ["machine_id", "condition"],
        unique=True,
        postgresql_where=sa.text("state <> 'normal'"),
        sqlite_where=sa.text("state <> 'normal'"),
    )
    op.create_index("ix_alarms_state_priority", "alarms", ["state", "priority"])
    op.create_index("ix_alarms_raised_at", "alarms", ["raised_at"])
    op.create_index("ix_alarms_machine_raised", "alarms", ["machine_id", "raised_at"])
    op.create_table(
        "alarm_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("alarm_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("details", JSON, nullable=False),
    )
    op.create_index("ix_alarm_events_alarm", "alarm_events", ["alarm_id", "seq"])
    op.create_index("ix_alarm_events_ts_kind", "alarm_events", ["ts", "kind"])


def downgrade() -> None:
    op.drop_index("ix_alarm_events_ts_kind", table_name="alarm_events")
    op.drop_index("ix_alarm_events_alarm", table_name="alarm_events")
    op.drop_table("alarm_events")
    for name in (
        "ix_alarms_machine_raised",
        "ix_alarms_raised_at",
        "ix_alarms_state_priority",
        "uq_alarms_open",
    ):
        op.drop_index(name, table_name="alarms")
    op.drop_table("alarms")
    op.drop_table("alarm_rules")
