"""archived days: raw readings exported to Parquet (one file per UTC day), verified, then removed

Revision ID: 0015_archive
Revises: 0014_rollups
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_archive"
down_revision: str | None = "0014_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "archived_days",
        sa.Column("day", sa.Date(), primary_key=True),
        # exported -> verified -> dropped; restored after `dtwin archive restore`
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("exported_at", TS, nullable=False),
        sa.Column("dropped_at", TS, nullable=True),
        sa.Column("restored_at", TS, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("archived_days")
