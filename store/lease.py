"""What a worker may write for the job it holds: each write first checks, in its own transaction, that it still does.

A worker that stalled past its lease (the job re-queued and claimed by another, or cancelled and finished)
must not overwrite the new holder's metrics or checkpoint, nor finish the job under it: every method runs
the holder-checked transition first (`WHERE id = :id AND worker = :me AND status = 'running'`) and raises
TransitionError before anything else of the transaction runs.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from store import states
from store.models import Checkpoint, Job
from store.repositories.checkpoints import CheckpointRepository
from store.repositories.metrics import MetricRepository


class JobLease:
    """One worker's hold on one running job, within one session (one transaction)."""

    def __init__(self, session: Session, job_id: uuid.UUID, worker: str) -> None:
        self.session, self.job_id, self.worker = session, job_id, worker

    def renew(self, progress: float, lease_s: float) -> Job:
        """A heartbeat: progress and a fresh lease; the job read back carries the cancel flag."""
        return states.heartbeat(self.session, self.job_id, self.worker, progress, lease_s)

    def write_points(self, points: Iterable[tuple[str, int, float]]) -> None:
        """One evaluation's metric points (name, step, value), replacing any at the same step (rule 5)."""
        states.hold(self.session, self.job_id, self.worker)
        MetricRepository(self.session).upsert(self.job_id, points)

    def save_checkpoint(self, step: int, data: bytes) -> None:
        """The state at `step`, the only checkpoint kept: the job resumes from it if this worker is lost."""
        states.hold(self.session, self.job_id, self.worker)
        CheckpointRepository(self.session).save(self.job_id, step, data)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The checkpoint an earlier attempt left, to resume from (None: start at step 0)."""
        states.hold(self.session, self.job_id, self.worker)
        return CheckpointRepository(self.session).latest(self.job_id)

    def succeed(self, summary: dict[str, Any]) -> Job:
        """Training ended (divergence included); the checkpoint goes in the same transaction."""
        return states.succeed(self.session, self.job_id, self.worker, summary)

    def fail(self, error: str, summary: dict[str, Any] | None = None) -> Job:
        """Training raised: the error for the user, in the same transaction as dropping the checkpoint."""
        return states.fail(self.session, self.job_id, self.worker, error, summary)

    def hand_back(self) -> Job:
        """Training paused at a checkpoint because this worker stops: the job goes back to the queue to resume."""
        return states.hand_back(self.session, self.job_id, self.worker)

    def end_attempt(self, max_attempts: int, reason: str) -> Job:
        """This attempt cannot go on (a rank of the job died): queued again to resume, or failed if out of attempts."""
        return states.end_attempt(self.session, self.job_id, self.worker, max_attempts, reason)

    def cancel(self, summary: dict[str, Any] | None = None) -> Job:
        """Training stopped at the cancel flag, with the summary of what it trained."""
        return states.cancel(self.session, self.job_id, self.worker, summary)
