"""metric points without a foreign key: the lease already holds the job's row, and the check cost ~45% of an insert

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_metric_points_job_id_jobs"


def upgrade() -> None:
    with op.batch_alter_table("metric_points") as table:
        table.drop_constraint(FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM metric_points WHERE job_id NOT IN (SELECT id FROM jobs)")
    with op.batch_alter_table("metric_points") as table:
        table.create_foreign_key(FOREIGN_KEY, "jobs", ["job_id"], ["id"], ondelete="CASCADE")
