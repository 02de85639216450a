"""energy: tariffs (one per scope: a site, or the fleet default '*') and their versions (validity dates,
flat price or time-of-use seasons and bands as one JSON document)

Revision ID: 0017_energy
Revises: 0016_data_quality
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_energy"
down_revision: str | None = "0016_data_quality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tariffs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("scope", name="uq_tariffs_scope"),
    )
    op.create_table(
        "tariff_versions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "tariff_id",
            ID,
            sa.ForeignKey("tariffs.id", name="fk_tariff_versions_tariff_id_tariffs", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("price_per_kwh", sa.Float(), nullable=True),
        sa.Column("seasons", JSON, nullable=True),
    )
    op.create_index("ix_tariff_versions_tariff_from", "tariff_versions", ["tariff_id", "valid_from"])


def downgrade() -> None:
    op.drop_index("ix_tariff_versions_tariff_from", table_name="tariff_versions")
    op.drop_table("tariff_versions")
    op.drop_table("tariffs")
