"""strategy vocabulary: stored decisions renamed to the adaptive-decision design's names
(stable -> stable_growth, monitor -> neutral; defensive and aggressive unchanged)

Revision ID: 0009_strategy_names
Revises: 0008_twin_command
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_strategy_names"
down_revision: str | None = "0008_twin_command"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a copy, not an import of dtwin.contracts.strategies: a migration states the names of its time
RENAMES = {"stable": "stable_growth", "monitor": "neutral"}

decisions = sa.table("decisions", sa.column("strategy", sa.String(16)))


def _rename(mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        op.execute(decisions.update().where(decisions.c.strategy == old).values(strategy=new))


def upgrade() -> None:
    _rename(RENAMES)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMES.items()})
