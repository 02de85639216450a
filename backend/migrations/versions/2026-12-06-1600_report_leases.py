"""report run leases: a running report holds a lease its runner renews; a run whose lease ran out (its
backend died) is taken over by another backend's scheduler (scheduled runs, up to a few attempts) or marked
failed (on-demand runs)

Revision ID: 0019_report_leases
Revises: 0018_reports
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_report_leases"
down_revision: str | None = "0018_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a run still "running" here belongs to a process that is gone: NULL reads as an expired lease
    op.add_column("report_runs", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "report_runs", sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("1"))
    )
    op.create_index(
        "ix_report_runs_running",
        "report_runs",
        ["lease_until"],
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ix_report_runs_running", table_name="report_runs")
    op.drop_column("report_runs", "attempts")
    op.drop_column("report_runs", "lease_until")
