"""The job state machine (rule 2): the only code that assigns a job's status.

Each transition is declared once in TRANSITIONS (from which statuses, to which) and applied as a
single `UPDATE jobs SET ... WHERE id = :id AND status IN (:allowed)`; when no row changes, the
job was not in an allowed status (or does not exist) and TransitionError says so. A concurrent
transition therefore loses cleanly instead of overwriting: two workers claiming one job get one
`running` and one TransitionError.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, select, update
from sqlalchemy.orm import Session

from store.errors import TransitionError
from store.models import Job, JobStatus
from store.timestamps import utcnow


@dataclass(frozen=True)
class Transition:
    """A move from any of `sources` to `target`."""

    sources: tuple[JobStatus, ...]
    target: JobStatus


TRANSITIONS = {
    "claim": Transition((JobStatus.QUEUED,), JobStatus.RUNNING),
    "heartbeat": Transition((JobStatus.RUNNING,), JobStatus.RUNNING),
    "request_cancel": Transition((JobStatus.RUNNING,), JobStatus.RUNNING),
    "succeed": Transition((JobStatus.RUNNING,), JobStatus.SUCCEEDED),
    "fail": Transition((JobStatus.RUNNING,), JobStatus.FAILED),
    "cancel": Transition((JobStatus.QUEUED, JobStatus.RUNNING), JobStatus.CANCELLED),
    "requeue_lost": Transition((JobStatus.RUNNING,), JobStatus.QUEUED),
}


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


def heartbeat(session: Session, job_id: uuid.UUID, progress: float, lease_s: float, worker: str | None = None) -> Job:
    """The worker is alive: extend the lease and record progress; the returned job carries cancel_requested.

    With `worker`, only the worker that holds the job may: one that stalled past its lease, while the
    job was re-queued and claimed by another, gets TransitionError instead of training it twice.
    """
    lease = utcnow() + timedelta(seconds=lease_s)
    return _apply(session, job_id, "heartbeat", held_by=worker, progress=progress, lease_expires_at=lease)


def succeed(session: Session, job_id: uuid.UUID, summary: dict[str, Any], worker: str | None = None) -> Job:
    """Training ended normally (a diverged run included: divergence is an outcome, not a failure)."""
    return _finish(session, job_id, "succeed", held_by=worker, summary=summary, progress=1.0)


def fail(
    session: Session, job_id: uuid.UUID, error: str, summary: dict[str, Any] | None = None, worker: str | None = None
) -> Job:
    """Training raised: keep the error for the user, and whatever summary there was."""
    return _finish(session, job_id, "fail", held_by=worker, error=error, summary=summary)


def cancel(
    session: Session, job_id: uuid.UUID, summary: dict[str, Any] | None = None, worker: str | None = None
) -> Job:
    """A queued job withdrawn by its owner, or a running one whose worker saw the cancel flag and stopped."""
    return _finish(session, job_id, "cancel", held_by=worker, summary=summary)


def request_cancel(session: Session, job_id: uuid.UUID) -> Job:
    """A queued job is cancelled at once; a running one gets the flag its training loop polls (rule 6)."""
    status = session.scalar(select(Job.status).where(Job.id == job_id).with_for_update())
    if status == JobStatus.QUEUED:  # the row lock keeps a worker from claiming it meanwhile
        return cancel(session, job_id)
    return _apply(session, job_id, "request_cancel", cancel_requested=True)


def requeue_lost(session: Session) -> list[uuid.UUID]:
    """Running jobs whose lease ran out lost their worker: queue them again (the next claim counts the attempt).

    Returns their ids, to be sent to the broker again once this transaction has committed (rule 1).
    """
    statement = _update("requeue_lost", Job.lease_expires_at < utcnow()).values(worker=None, lease_expires_at=None)
    return list(session.scalars(statement.returning(Job.id)))


def _finish(session: Session, job_id: uuid.UUID, name: str, **values: Any) -> Job:
    """A final status: stamp the end and release the lease."""
    return _apply(session, job_id, name, finished_at=utcnow(), lease_expires_at=None, **values)


def _apply(session: Session, job_id: uuid.UUID, name: str, held_by: str | None = None, **values: Any) -> Job:
    """Run one transition on one job, or raise TransitionError if its status (or holder, given `held_by`) forbids it."""
    held = [Job.worker == held_by] if held_by is not None else []
    statement = _update(name, Job.id == job_id, *held).values(**values).returning(Job)
    job = session.scalars(statement.execution_options(populate_existing=True)).one_or_none()
    if job is None:
        raise TransitionError(job_id, session.scalar(select(Job.status).where(Job.id == job_id)), name)
    return job


def _update(name: str, *criteria: ColumnElement[bool]) -> Update:
    """`UPDATE jobs SET status = target WHERE <criteria> AND status IN (sources)` for the named transition."""
    transition = TRANSITIONS[name]
    return update(Job).where(*criteria, Job.status.in_(transition.sources)).values(status=transition.target)
