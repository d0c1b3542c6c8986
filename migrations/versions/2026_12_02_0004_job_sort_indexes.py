"""job sort indexes: each sortable column of the job list, by owner, with the id that breaks ties

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORTED = ("name", "status", "lr", "batch_size", "seed", "progress")  # created_at has had its index since 0001


def upgrade() -> None:
    # (owner, status, id) serves the status filter as (owner, status) did, and the sort by status as well.
    op.drop_index(op.f("ix_jobs_owner_status"), table_name="jobs")
    for column in SORTED:
        op.create_index(op.f(f"ix_jobs_owner_{column}_id"), "jobs", ["owner", column, "id"])


def downgrade() -> None:
    for column in SORTED:
        op.drop_index(op.f(f"ix_jobs_owner_{column}_id"), table_name="jobs")
    op.create_index(op.f("ix_jobs_owner_status"), "jobs", ["owner", "status"])
