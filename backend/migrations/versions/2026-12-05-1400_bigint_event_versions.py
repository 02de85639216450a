"""twin_events.version as BIGINT: twin versions start at the version floor (tenths of milliseconds since
2020, 13 digits: TwinStore.version_floor), past a 32-bit INTEGER

Revision ID: 0010_bigint_event_versions
Revises: 0009_strategy_names
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_bigint_event_versions"
down_revision: str | None = "0009_strategy_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite's INTEGER holds 64 bits already
    op.alter_column("twin_events", "version", type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("twin_events", "version", type_=sa.Integer(), existing_nullable=True)
