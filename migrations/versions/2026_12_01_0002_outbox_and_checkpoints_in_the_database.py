"""outbox and checkpoints in the database: jobs.dispatched_at; checkpoints hold their bytes, not a file path

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_status_dispatched_at"), ["status", "dispatched_at"])
    # A recorded path points at a file on one machine's disk: such checkpoints cannot move to the database.
    op.execute("DELETE FROM checkpoints")
    with op.batch_alter_table("checkpoints") as batch_op:
        batch_op.drop_column("path")
        batch_op.add_column(sa.Column("data", sa.LargeBinary(), nullable=False))


def downgrade() -> None:
    op.execute("DELETE FROM checkpoints")
    with op.batch_alter_table("checkpoints") as batch_op:
        batch_op.drop_column("data")
        batch_op.add_column(sa.Column("path", sa.String(length=1024), nullable=False))
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status_dispatched_at"))
        batch_op.drop_column("dispatched_at")
