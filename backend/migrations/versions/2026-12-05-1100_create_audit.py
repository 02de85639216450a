"""audit: the audit_log table; twin_events.actor (who made a change)

Revision ID: 0007_audit
Revises: 0006_auth
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_audit"
down_revision: str | None = "0006_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("route", sa.String(256), nullable=False),
        sa.Column("path_params", JSON, nullable=False),
        sa.Column("machine_id", sa.String(128), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("details", JSON, nullable=False),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index("ix_audit_log_machine_id_id", "audit_log", ["machine_id", "id"])
    op.create_index("ix_audit_log_actor_name_id", "audit_log", ["actor_name", "id"])
    op.add_column("twin_events", sa.Column("actor", sa.String(160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("twin_events") as batch:
        batch.drop_column("actor")
    op.drop_index("ix_audit_log_actor_name_id", table_name="audit_log")
    op.drop_index("ix_audit_log_machine_id_id", table_name="audit_log")
    op.drop_index("ix_audit_log_ts", table_name="audit_log")
    op.drop_table("audit_log")
