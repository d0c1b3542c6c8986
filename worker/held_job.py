"""This worker's hold on one job: every database write for it one short transaction, retried through blips."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from sqlalchemy.orm import Session

from store import Checkpoint, Job, JobLease, SessionFactory, session_scope, states
from worker.retry import with_retries

T = TypeVar("T")


@dataclass(frozen=True)
class HeldJob:
    """Nothing stays open while the engine trains (rule 3); each write checks the hold first (store.JobLease)."""

    factory: SessionFactory
    job_id: UUID
    worker: str
    lease_s: float

    def claim(self) -> tuple[Job, Checkpoint | None]:
        """Take the queued job, with the checkpoint an earlier attempt left (TransitionError: not ours to take)."""

        def take(session: Session) -> tuple[Job, Checkpoint | None]:
            job = states.claim(session, self.job_id, self.worker, self.lease_s)
            return job, self._lease(session).latest_checkpoint()

        return self._retried(take)

    def write(self, action: Callable[[JobLease], T]) -> T:
        """One holder-checked write (TransitionError: the job is no longer ours; DatabaseUnavailable: no database)."""
        return self._retried(lambda session: action(self._lease(session)))

    def _lease(self, session: Session) -> JobLease:
        """This worker's lease on the job, in `session`."""
        return JobLease(session, self.job_id, self.worker)

    def _retried(self, work: Callable[[Session], T]) -> T:
        """`work` in a transaction of its own, tried again as a whole after a transient database error."""

        def transaction() -> T:
            with session_scope(self.factory) as session:
                return work(session)

        return with_retries(transaction, self.lease_s)
