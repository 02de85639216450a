"""reports: report definitions (kind, scope, period, cron schedule, recipients, formats) and runs (period,
status, headline figures, the PDF and CSV as bytea); unique (definition_id, scheduled_for) so exactly one
backend claims each scheduled firing

Revision ID: 0018_reports
Revises: 0017_energy
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_reports"
down_revision: str | None = "0017_energy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BYTES = sa.LargeBinary().with_variant(postgresql.BYTEA(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report_definitions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("schedule", sa.String(128), nullable=True),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("formats", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("name", name="uq_report_definitions_name"),
    )
    op.create_table(
        "report_runs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "definition_id",
            ID,
            sa.ForeignKey(
                "report_definitions.id",
                name="fk_report_runs_definition_id_report_definitions",
                ondelete="SET NULL",
            ),
            nullable=True,
        ),
        sa.Column("scheduled_for", TS, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("has_data", sa.Boolean(), nullable=True),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("pdf", BYTES, nullable=True),
        sa.Column("csv", BYTES, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("emailed_to", JSON, nullable=False),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.Column("trigger", sa.String(16), nullable=False),
    )
    op.create_index(
        "uq_report_runs_scheduled", "report_runs", ["definition_id", "scheduled_for"], unique=True
    )
    op.create_index("ix_report_runs_created", "report_runs", ["created_at"])


def downgrade() -> None:
    op.drop_table("report_runs")
    op.drop_table("report_definitions")
