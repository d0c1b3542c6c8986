"""studies: the studies table; jobs reference their study and cell

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("preset", sa.String(length=32), nullable=True),
        sa.Column("scale", sa.Double(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("seeds", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    op.create_index(op.f("ix_studies_owner_created_at_id"), "studies", ["owner", "created_at", "id"])
    # No study existed before this revision: a study_id set by hand would point at nothing.
    op.execute("UPDATE jobs SET study_id = NULL")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("study_cell", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_jobs_study_id_studies"), "studies", ["study_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_jobs_study_id_studies"), type_="foreignkey")
        batch_op.drop_column("study_cell")
    op.execute("UPDATE jobs SET study_id = NULL")
    op.drop_index(op.f("ix_studies_owner_created_at_id"), table_name="studies")
    op.drop_table("studies")
