"""Where each saved checkpoint of a job lies, so a re-queued job resumes from the newest (rule 7)."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Checkpoint
from store.timestamps import utcnow
from store.upsert import upsert


class CheckpointRepository:
    """Checkpoint records of jobs; the files themselves live in the data dir."""

    def __init__(self, session: Session):
        self.session = session

    def record(self, job_id: uuid.UUID, step: int, path: str) -> None:
        """Remember a saved checkpoint; saving the same step again (a resumed run) replaces the record."""
        row = {"job_id": job_id, "step": step, "path": path, "created_at": utcnow()}
        upsert(self.session, Checkpoint, [row], keys=["job_id", "step"], update=["path", "created_at"])

    def latest(self, job_id: uuid.UUID) -> Checkpoint | None:
        """The checkpoint with the highest step, the one to resume from."""
        query = select(Checkpoint).where(Checkpoint.job_id == job_id).order_by(Checkpoint.step.desc()).limit(1)
        return self.session.scalar(query)
