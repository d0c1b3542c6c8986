"""A worker's writes through JobLease: each checks first that the worker still holds the job, in one transaction."""

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.spec import JobSpec
from store import Checkpoint, Job, JobLease, JobRepository, MetricRepository, TransitionError, states
from store.timestamps import utcnow

# Every write a worker makes, as the tests call it.
WRITES: dict[str, Callable[[JobLease], object]] = {
    "renew": lambda lease: lease.renew(progress=0.9, lease_s=600),
    "write_points": lambda lease: lease.write_points([("train_loss", 10, 9.0), ("train_loss", 20, 9.0)]),
    "save_checkpoint": lambda lease: lease.save_checkpoint(20, b"the former holder's state"),
    "latest_checkpoint": lambda lease: lease.latest_checkpoint(),
    "succeed": lambda lease: lease.succeed({"final_test_acc": 0.1}),
    "fail": lambda lease: lease.fail("boom"),
    "cancel": lambda lease: lease.cancel(),
}


def claimed(session: Session, worker: str = "w1") -> uuid.UUID:
    """A running job of alice's, held by `worker`."""
    job_id = JobRepository(session).create("alice", JobSpec()).id
    states.claim(session, job_id, worker, lease_s=60)
    return job_id


def taken_over(session: Session) -> uuid.UUID:
    """w1 stalled past its lease; the job was re-queued and w2 holds it now, with a checkpoint and points."""
    job_id = claimed(session, "w1")
    JobLease(session, job_id, "w1").save_checkpoint(10, b"w1 at step 10")
    session.get(Job, job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert states.requeue_lost(session, max_attempts=3) == [job_id]
    states.claim(session, job_id, "w2", lease_s=60)
    successor = JobLease(session, job_id, "w2")
    successor.write_points([("train_loss", 10, 1.0)])
    successor.save_checkpoint(15, b"w2 at step 15")
    return job_id


def everything(session: Session, job_id: uuid.UUID) -> tuple:
    """The job's row, its metric points and its checkpoints, as stored."""
    session.expire_all()
    job = tuple(session.execute(select(Job.__table__).where(Job.id == job_id)).one())
    checkpoints = session.execute(select(Checkpoint.step, Checkpoint.data).where(Checkpoint.job_id == job_id)).all()
    return job, MetricRepository(session).series(job_id), sorted(checkpoints)


@pytest.mark.parametrize("write", list(WRITES))
def test_a_former_holder_can_write_nothing_for_the_job(session: Session, write: str):
    job_id = taken_over(session)
    before = everything(session, job_id)
    with pytest.raises(TransitionError) as error:
        WRITES[write](JobLease(session, job_id, "w1"))
    assert error.value.job_id == job_id
    assert everything(session, job_id) == before
    assert before[2] == [(15, b"w2 at step 15")]


@pytest.mark.parametrize("write", list(WRITES))
def test_no_worker_can_write_for_a_job_that_is_not_running(session: Session, write: str):
    job_id = claimed(session, "w1")
    JobLease(session, job_id, "w1").succeed({"final_test_acc": 0.9})
    before = everything(session, job_id)
    with pytest.raises(TransitionError):
        WRITES[write](JobLease(session, job_id, "w1"))
    assert everything(session, job_id) == before


def test_the_holder_writes_and_only_its_newest_checkpoint_is_kept(session: Session):
    job_id, other = claimed(session), claimed(session)
    lease = JobLease(session, job_id, "w1")
    assert lease.latest_checkpoint() is None
    for step in (10, 20, 30):
        lease.save_checkpoint(step, f"step {step}".encode())
    lease.save_checkpoint(30, b"step 30 again")
    JobLease(session, other, "w1").save_checkpoint(5, b"another job's")
    latest = lease.latest_checkpoint()
    assert (latest.step, latest.data) == (30, b"step 30 again")
    assert everything(session, job_id)[2] == [(30, b"step 30 again")]
    lease.write_points([("train_loss", 10, 1.0), ("train_loss", 10, 0.5)])
    assert MetricRepository(session).series(job_id) == {"train_loss": [(10, 0.5)]}
    assert lease.renew(progress=0.5, lease_s=600).lease_expires_at > utcnow() + timedelta(seconds=500)
    assert everything(session, other)[2] == [(5, b"another job's")]


@pytest.mark.parametrize("finish", ["succeed", "fail", "cancel"])
def test_finishing_drops_the_jobs_checkpoints_in_the_same_transaction(session: Session, finish: str):
    job_id, other = claimed(session), claimed(session)
    JobLease(session, job_id, "w1").save_checkpoint(10, b"state")
    JobLease(session, other, "w1").save_checkpoint(10, b"state")
    job = WRITES[finish](JobLease(session, job_id, "w1"))
    assert job.status in ("succeeded", "failed", "cancelled") and job.lease_expires_at is None
    assert everything(session, job_id)[2] == [] and everything(session, other)[2] == [(10, b"state")]
