"""The job state machine (rule 2): the only code that assigns a job's status.

Each transition is declared once in TRANSITIONS (from which statuses, to which) and applied as a
single `UPDATE jobs SET ... WHERE id = :id AND status IN (:allowed)`; when no row changes, the
job was not in an allowed status (or does not exist) and TransitionError says so. A concurrent
transition therefore loses cleanly instead of overwriting: two workers claiming one job get one
`running` and one TransitionError. Every transition a worker makes also names the worker
(`AND worker = :me`): one that stalled past its lease, while the job was re-queued and claimed by
another, cannot heartbeat, write for or finish a job it no longer holds.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, Update, cast, literal, select, update
from sqlalchemy.orm import Session

from store.errors import TransitionError
from store.models import Job, JobStatus
from store.repositories.checkpoints import CheckpointRepository
from store.timestamps import utcnow


@dataclass(frozen=True)
class Transition:
    """A move from any of `sources` to `target`."""

    sources: tuple[JobStatus, ...]
    target: JobStatus


TRANSITIONS = {
    "claim": Transition((JobStatus.QUEUED,), JobStatus.RUNNING),
    "hold": Transition((JobStatus.RUNNING,), JobStatus.RUNNING),
    "heartbeat": Transition((JobStatus.RUNNING,), JobStatus.RUNNING),
    "request_cancel": Transition((JobStatus.RUNNING,), JobStatus.RUNNING),
    "succeed": Transition((JobStatus.RUNNING,), JobStatus.SUCCEEDED),
    "fail": Transition((JobStatus.RUNNING,), JobStatus.FAILED),
    "cancel": Transition((JobStatus.RUNNING,), JobStatus.CANCELLED),
    "withdraw": Transition((JobStatus.QUEUED,), JobStatus.CANCELLED),
    "hand_back": Transition((JobStatus.RUNNING,), JobStatus.QUEUED),
    "requeue_lost": Transition((JobStatus.RUNNING,), JobStatus.QUEUED),
    "fail_lost": Transition((JobStatus.RUNNING,), JobStatus.FAILED),
}

# Completes "the job lost its worker <attempts>": what probably happened, and what to change.
LOST_ADVICE = (
    " times (the process died: out of memory or a crash?); make the model or batch smaller, or raise BNLAB_MAX_ATTEMPTS"
)


def claim(session: Session, job_id: uuid.UUID, worker: str, lease_s: float) -> Job:
    """A worker takes a queued job; the lease says how long it may go without a heartbeat (rule 7)."""
    now = utcnow()
    return _apply(
        session,
        job_id,
        "claim",
        attempts=Job.attempts + 1,
        worker=worker,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=lease_s),
    )


def hold(session: Session, job_id: uuid.UUID, worker: str) -> Job:
    """The worker still holds the running job: its row stays locked for the rest of this transaction's writes."""
    return _held(session, job_id, worker, "hold")


def heartbeat(session: Session, job_id: uuid.UUID, worker: str, progress: float, lease_s: float) -> Job:
    """The holding worker is alive: extend the lease and record progress; the returned job carries cancel_requested."""
    lease = utcnow() + timedelta(seconds=lease_s)
    return _held(session, job_id, worker, "heartbeat", progress=progress, lease_expires_at=lease)


def succeed(session: Session, job_id: uuid.UUID, worker: str, summary: dict[str, Any]) -> Job:
    """Training ended normally (a diverged run included: divergence is an outcome, not a failure)."""
    return _finish(session, job_id, "succeed", Job.worker == worker, summary=summary, progress=1.0)


def fail(session: Session, job_id: uuid.UUID, worker: str, error: str, summary: dict[str, Any] | None = None) -> Job:
    """Training raised: keep the error for the user, and whatever summary there was."""
    return _finish(session, job_id, "fail", Job.worker == worker, error=error, summary=summary)


def cancel(session: Session, job_id: uuid.UUID, worker: str, summary: dict[str, Any] | None = None) -> Job:
    """The holding worker saw the cancel flag and stopped: the job ends with the summary of what it trained."""
    return _finish(session, job_id, "cancel", Job.worker == worker, summary=summary)


def hand_back(session: Session, job_id: uuid.UUID, worker: str) -> Job:
    """The holding worker stops and paused the job at a checkpoint: queued again, to be sent once this transaction
    has committed (no dispatched_at, rule 12); the attempt is given back, since no worker was lost."""
    released = {"worker": None, "lease_expires_at": None, "dispatched_at": None}
    return _apply(session, job_id, "hand_back", Job.worker == worker, attempts=Job.attempts - 1, **released)


def end_attempt(session: Session, job_id: uuid.UUID, worker: str, max_attempts: int, reason: str) -> Job:
    """The holding worker's attempt ended without a result (a rank of the job's process group died): queued again,
    to resume from its checkpoint, like a job that lost its worker; failed once out of attempts, saying why."""
    job = hold(session, job_id, worker)  # locks the row, so the attempts read stay true until the commit
    if job.attempts >= max_attempts:
        error = f"{reason}; that ended all {job.attempts} attempts of the job (BNLAB_MAX_ATTEMPTS)"
        return _finish(session, job_id, "fail_lost", Job.worker == worker, error=error)
    released = {"worker": None, "lease_expires_at": None, "dispatched_at": None}
    return _apply(session, job_id, "requeue_lost", Job.worker == worker, **released)


def request_cancel(session: Session, job_id: uuid.UUID) -> Job:
    """A queued job is cancelled at once; a running one gets the flag its training loop polls (rule 6)."""
    status = session.scalar(select(Job.status).where(Job.id == job_id).with_for_update())
    if status == JobStatus.QUEUED:  # the row lock keeps a worker from claiming it meanwhile
        return _finish(session, job_id, "withdraw")
    return _apply(session, job_id, "request_cancel", cancel_requested=True)


def requeue_lost(session: Session, max_attempts: int) -> list[uuid.UUID]:
    """Running jobs whose lease ran out lost their worker: fail those out of attempts, queue the others again.

    A job that keeps killing its worker (out of memory, a crash) must end instead of taking workers down
    forever. The re-queued ones need a message again (no dispatched_at): returns their ids, to be sent to
    the broker once this transaction has committed (rule 1); the next claim counts the attempt.
    """
    lost = Job.lease_expires_at < utcnow()
    failed = _update("fail_lost", lost, Job.attempts >= max_attempts).values(
        error=literal("the job lost its worker ") + cast(Job.attempts, String) + literal(LOST_ADVICE),
        finished_at=utcnow(),
        lease_expires_at=None,
    )
    CheckpointRepository(session).delete(list(session.scalars(failed.returning(Job.id))))
    requeued = _update("requeue_lost", lost, Job.attempts < max_attempts).values(
        worker=None, lease_expires_at=None, dispatched_at=None
    )
    return list(session.scalars(requeued.returning(Job.id)))


def _held(session: Session, job_id: uuid.UUID, worker: str, name: str, **values: Any) -> Job:
    """A worker's transition on a running job: only the worker that holds it may make it."""
    return _apply(session, job_id, name, Job.worker == worker, **values)


def _finish(session: Session, job_id: uuid.UUID, name: str, *criteria: ColumnElement[bool], **values: Any) -> Job:
    """A final status: stamp the end, release the lease, drop the checkpoints (a finished job never resumes)."""
    job = _apply(session, job_id, name, *criteria, finished_at=utcnow(), lease_expires_at=None, **values)
    CheckpointRepository(session).delete([job_id])
    return job


def _apply(session: Session, job_id: uuid.UUID, name: str, *criteria: ColumnElement[bool], **values: Any) -> Job:
    """Run one transition on one job, or raise TransitionError if its status (or holder, in `criteria`) forbids it."""
    statement = _update(name, Job.id == job_id, *criteria).values(**values).returning(Job)
    job = session.scalars(statement.execution_options(populate_existing=True)).one_or_none()
    if job is None:
        raise TransitionError(job_id, session.scalar(select(Job.status).where(Job.id == job_id)), name)
    return job


def _update(name: str, *criteria: ColumnElement[bool]) -> Update:
    """`UPDATE jobs SET status = target WHERE <criteria> AND status IN (sources)` for the named transition."""
    transition = TRANSITIONS[name]
    return update(Job).where(*criteria, Job.status.in_(transition.sources)).values(status=transition.target)
