"""twins.command: the outcome of the newest command (version, status, applied, rejected, at), kept with the
desired state so that a rebuild after a Redis loss restores it

Revision ID: 0008_twin_command
Revises: 0007_audit
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_twin_command"
down_revision: str | None = "0007_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("twins", sa.Column("command", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("twins", "command")
