"""notifications: the routing rules (notification_routes) and the transactional outbox
(notification_outbox: one row per message, claimed by the dispatchers)

Revision ID: 0011_notifications
Revises: 0010_bigint_event_versions
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_notifications"
down_revision: str | None = "0010_bigint_event_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_routes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("secret", sa.String(256), nullable=True),
        sa.Column("body_template", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=True),
        sa.Column("min_priority", sa.String(16), nullable=False),
        sa.Column("sites", JSON, nullable=True),
        sa.Column("lines", JSON, nullable=True),
        sa.Column("machine_types", JSON, nullable=True),
        sa.Column("transitions", JSON, nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("escalate_after_s", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_notification_routes_name"),
    )
    op.create_table(
        "notification_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("alarm_id", sa.BigInteger(), nullable=True),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("priority", sa.String(16), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("digest_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.UniqueConstraint("idempotency_key", name="uq_notification_outbox_idempotency_key"),
    )
    op.create_index(
        "ix_notification_outbox_status_next_attempt_at", "notification_outbox", ["status", "next_attempt_at"]
    )
    op.create_index("ix_notification_outbox_alarm_id", "notification_outbox", ["alarm_id"])
    op.create_index(
        "ix_notification_outbox_route_id_delivered_at", "notification_outbox", ["route_id", "delivered_at"]
    )
    op.create_index("ix_notification_outbox_digest_id", "notification_outbox", ["digest_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_outbox_digest_id", table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_route_id_delivered_at", table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_alarm_id", table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_status_next_attempt_at", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("notification_routes")
