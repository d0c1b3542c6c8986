"""Checkpoint rows: a job's resumable state as bytes in the database, so any worker can resume it (rule 7).

Workers write them through store.lease.JobLease, which first checks that the worker still holds the job.
"""

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.models import Checkpoint
from store.timestamps import utcnow
from store.upsert import upsert


class CheckpointRepository:
    """The checkpoints of jobs: at most the newest one per job is worth keeping."""

    def __init__(self, session: Session):
        self.session = session

    def save(self, job_id: uuid.UUID, step: int, data: bytes) -> None:
        """Store this step (saving it again, as a resumed run does, replaces it) and drop the job's others."""
        row = {"job_id": job_id, "step": step, "data": data, "created_at": utcnow()}
        upsert(self.session, Checkpoint, [row], keys=["job_id", "step"], update=["data", "created_at"])
        self.session.execute(delete(Checkpoint).where(Checkpoint.job_id == job_id, Checkpoint.step != step))

    def latest(self, job_id: uuid.UUID) -> Checkpoint | None:
        """The checkpoint with the highest step, the one to resume from."""
        query = select(Checkpoint).where(Checkpoint.job_id == job_id).order_by(Checkpoint.step.desc()).limit(1)
        return self.session.scalar(query)

    def delete(self, job_ids: list[uuid.UUID]) -> None:
        """Drop every checkpoint of these jobs (they finished: nothing resumes them)."""
        if job_ids:
            self.session.execute(delete(Checkpoint).where(Checkpoint.job_id.in_(job_ids)))
