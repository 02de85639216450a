"""durable twin registry (identity, attributes, desired state)

Revision ID: 0003_twins
Revises: 0002_twin_events
Create Date: 2026-11-23 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_twins"
down_revision: str | None = "0002_twin_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "twins",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("machine_type", sa.String(64), nullable=False, server_default="unknown"),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("line", sa.String(64), nullable=True),
        sa.Column("attributes", JSON, nullable=False, server_default="{}"),
        sa.Column("desired", JSON, nullable=False, server_default="{}"),
        sa.Column("desired_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("twins")
