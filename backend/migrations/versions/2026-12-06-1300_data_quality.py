"""data quality: hourly counts per machine and cleansing rule, data-gap events, device clock offsets; the
catalogue's physical ranges added to the machine types still exactly as seeded

Revision ID: 0016_data_quality
Revises: 0015_archive
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_data_quality"
down_revision: str | None = "0015_archive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "data_quality_counts",
        sa.Column("machine_id", sa.String(128), primary_key=True),
        sa.Column("rule", sa.String(32), primary_key=True),
        sa.Column("hour", TS, primary_key=True),
        sa.Column("count", ID, nullable=False),
    )
    op.create_index("ix_data_quality_counts_hour", "data_quality_counts", ["hour"])
    op.create_table(
        "data_gaps",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(128), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_index("ix_data_gaps_machine_end", "data_gaps", ["machine_id", "end"])
    op.create_index("ix_data_gaps_end", "data_gaps", ["end"])
    op.create_table(
        "data_quality_clock",
        sa.Column("machine_id", sa.String(128), primary_key=True),
        sa.Column("offset_s", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    _add_physical_ranges()


def _add_physical_ranges() -> None:
    """Machine types seeded from the catalogue before it had physical ranges and never edited since
    (version 1) get the catalogue's physical ranges, as a new version. Edited or deleted types are left as
    the operator made them (they can add ranges with PUT /machine-types/{name})."""
    from dtwin.contracts.catalogue import machine_catalogue  # the data file, as of this release

    catalogue = machine_catalogue()
    types = sa.table(
        "machine_types",
        sa.column("name", sa.String()),
        sa.column("sensors", JSON),
        sa.column("version", sa.Integer()),
        sa.column("deleted", sa.Boolean()),
        sa.column("updated_at", TS),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(types.c.name, types.c.sensors).where(types.c.version == 1, types.c.deleted.is_(False))
    ).all()
    now = datetime.now(UTC)
    for name, sensors in rows:
        spec = catalogue.get(name)
        if spec is None or not isinstance(sensors, list):
            continue
        changed = False
        out: list[dict[str, Any]] = []
        for s in sensors:
            s = dict(s)
            known = next((c for c in spec.sensors if c.name == s.get("name")), None)
            if known is not None and "phys_lo" not in s and "phys_hi" not in s:
                lo, hi = float(s["lo"]), float(s["hi"])
                if (
                    known.phys_lo is not None
                    and known.phys_hi is not None
                    and known.phys_lo <= lo
                    and known.phys_hi >= hi
                ):
                    s["phys_lo"], s["phys_hi"] = known.phys_lo, known.phys_hi
                    changed = True
            out.append(s)
        if changed:
            bind.execute(
                types.update()
                .where(types.c.name == name, types.c.version == 1)
                .values(
                    sensors=out,
                    version=2,
                    updated_at=now if bind.dialect.name != "sqlite" else now.replace(tzinfo=None),
                )
            )


def downgrade() -> None:
    op.drop_table("data_quality_clock")
    op.drop_index("ix_data_gaps_end", table_name="data_gaps")
    op.drop_index("ix_data_gaps_machine_end", table_name="data_gaps")
    op.drop_table("data_gaps")
    op.drop_index("ix_data_quality_counts_hour", table_name="data_quality_counts")
    op.drop_table("data_quality_counts")
