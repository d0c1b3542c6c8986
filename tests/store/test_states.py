"""The job state machine: every allowed transition works, every other raises and changes nothing."""

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from contracts.spec import JobSpec
from store import (
    Checkpoint,
    Job,
    JobLease,
    JobRepository,
    JobStatus,
    SessionFactory,
    TransitionError,
    make_session_factory,
    session_scope,
    states,
)
from store.timestamps import utcnow

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = JobStatus

# Each public transition, how the tests call it (as the worker "w1" that claimed the job), and where it may start.
ACTIONS: dict[str, tuple[Callable[[Session, uuid.UUID], Job], set[JobStatus]]] = {
    "claim": (lambda s, job_id: states.claim(s, job_id, worker="w2", lease_s=60), {QUEUED}),
    "hold": (lambda s, job_id: states.hold(s, job_id, worker="w1"), {RUNNING}),
    "heartbeat": (lambda s, job_id: states.heartbeat(s, job_id, worker="w1", progress=0.5, lease_s=60), {RUNNING}),
    "succeed": (lambda s, job_id: states.succeed(s, job_id, "w1", {"final_test_acc": 0.9}), {RUNNING}),
    "fail": (lambda s, job_id: states.fail(s, job_id, "w1", "boom"), {RUNNING}),
    "cancel": (lambda s, job_id: states.cancel(s, job_id, "w1"), {RUNNING}),
    "hand_back": (lambda s, job_id: states.hand_back(s, job_id, "w1"), {RUNNING}),
    "request_cancel": (lambda s, job_id: states.request_cancel(s, job_id), {QUEUED, RUNNING}),
}
# How a fresh job reaches each status, through the state machine itself.
PATHS = {
    QUEUED: [],
    RUNNING: ["claim"],
    SUCCEEDED: ["claim", "succeed"],
    FAILED: ["claim", "fail"],
    CANCELLED: ["request_cancel"],
}


def job_in(session: Session, status: JobStatus, lease_s: float = 60) -> uuid.UUID:
    """A job of alice's brought to `status` (claimed with the given lease)."""
    job_id = JobRepository(session).create("alice", JobSpec()).id
    for name in PATHS[status]:
        if name == "claim":
            states.claim(session, job_id, "w1", lease_s)
        else:
            ACTIONS[name][0](session, job_id)
    return job_id


def row(session: Session, job_id: uuid.UUID) -> tuple:
    """The job's row as stored, every column."""
    return tuple(session.execute(select(Job.__table__).where(Job.id == job_id)).one())


def test_the_table_declares_what_the_functions_allow():
    assert set(states.TRANSITIONS) == set(ACTIONS) | {"withdraw", "requeue_lost", "fail_lost"}
    for name, (_, allowed) in ACTIONS.items():
        if name != "request_cancel":  # a queued job is withdrawn outright instead of flagged
            assert set(states.TRANSITIONS[name].sources) == allowed
    assert set(states.TRANSITIONS["withdraw"].sources) | set(states.TRANSITIONS["request_cancel"].sources) == {
        QUEUED,
        RUNNING,
    }


@pytest.mark.parametrize("status", list(JobStatus))
@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_transition_works_from_allowed_statuses_and_changes_nothing_otherwise(
    session: Session, name: str, status: JobStatus
):
    action, allowed = ACTIONS[name]
    job_id = job_in(session, status)
    before = row(session, job_id)
    if status in allowed:
        assert action(session, job_id).id == job_id
        return
    with pytest.raises(TransitionError) as error:
        action(session, job_id)
    assert (error.value.job_id, error.value.status, error.value.transition) == (job_id, status, name)
    assert row(session, job_id) == before


def test_transitions_set_what_they_promise(session: Session):
    job_id = job_in(session, QUEUED)
    created = session.get(Job, job_id).updated_at
    job = states.claim(session, job_id, "w1", lease_s=60)
    assert (job.status, job.worker, job.attempts) == (RUNNING, "w1", 1) and job.updated_at > created
    assert job.started_at <= utcnow() < job.lease_expires_at <= utcnow() + timedelta(seconds=60)
    job = states.heartbeat(session, job_id, "w1", progress=0.25, lease_s=600)
    assert job.progress == 0.25 and job.lease_expires_at > utcnow() + timedelta(seconds=500)
    assert states.request_cancel(session, job_id).cancel_requested and job.status == RUNNING
    job = states.succeed(session, job_id, "w1", {"diverged": True})
    assert (job.status, job.summary, job.progress, job.lease_expires_at) == (SUCCEEDED, {"diverged": True}, 1.0, None)
    assert job.finished_at >= job.started_at and job.updated_at >= job.finished_at


def test_a_transition_of_a_missing_job_says_so(session: Session):
    missing = uuid.uuid4()
    with pytest.raises(TransitionError, match="does not exist") as error:
        states.claim(session, missing, "w1", lease_s=60)
    assert error.value.status is None


def test_cancelling_a_queued_job_is_immediate_and_a_running_one_cooperative(session: Session):
    queued, running = job_in(session, QUEUED), job_in(session, RUNNING)
    assert states.request_cancel(session, queued).status == CANCELLED
    flagged = states.request_cancel(session, running)
    assert (flagged.status, flagged.cancel_requested) == (RUNNING, True)
    assert states.heartbeat(session, running, "w1", progress=0.5, lease_s=60).cancel_requested
    assert states.cancel(session, running, "w1").status == CANCELLED


def test_a_job_handed_back_is_queued_to_be_sent_again_with_its_checkpoint_and_attempt_kept(session: Session):
    job_id = job_in(session, RUNNING)
    session.get(Job, job_id).dispatched_at = utcnow()
    JobLease(session, job_id, "w1").save_checkpoint(40, b"state at step 40")
    job = states.hand_back(session, job_id, "w1")
    assert (job.status, job.worker, job.attempts) == (QUEUED, None, 0)
    assert job.lease_expires_at is None and job.dispatched_at is None and job.finished_at is None
    job = states.claim(session, job_id, "w2", lease_s=60)
    assert job.attempts == 1 and JobLease(session, job_id, "w2").latest_checkpoint().step == 40


def test_an_ended_attempt_is_queued_to_resume_and_fails_once_out_of_attempts(session: Session):
    job_id = job_in(session, QUEUED)
    for attempt in (1, 2):
        states.claim(session, job_id, f"w{attempt}", lease_s=60)
        session.get(Job, job_id).dispatched_at = utcnow()
        lease = JobLease(session, job_id, f"w{attempt}")
        assert (lease.latest_checkpoint() or Checkpoint(step=None)).step == (10 if attempt == 2 else None)
        lease.save_checkpoint(10 * attempt, b"state")
        job = states.end_attempt(session, job_id, f"w{attempt}", max_attempts=2, reason="rank 1 of 2 ended")
        if attempt == 1:
            assert (job.status, job.worker, job.attempts, job.error) == (QUEUED, None, 1, None)
            assert job.lease_expires_at is None and job.dispatched_at is None
    assert (job.status, job.attempts, job.lease_expires_at) == (FAILED, 2, None) and job.finished_at is not None
    assert job.error == "rank 1 of 2 ended; that ended all 2 attempts of the job (BNLAB_MAX_ATTEMPTS)"
    assert session.scalars(select(Checkpoint).where(Checkpoint.job_id == job_id)).all() == []


def test_a_worker_that_does_not_hold_the_job_cannot_end_its_attempt(session: Session):
    job_id = job_in(session, RUNNING)
    before = row(session, job_id)
    with pytest.raises(TransitionError):
        states.end_attempt(session, job_id, "another worker", max_attempts=3, reason="rank 1 of 2 ended")
    assert row(session, job_id) == before


def expire(session: Session, job_id: uuid.UUID) -> None:
    """The job's lease ran out: its worker went silent."""
    session.get(Job, job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
    session.flush()


def test_requeue_lost_takes_only_expired_leases_and_the_next_claim_counts_the_attempt(session: Session):
    expired, alive, queued = job_in(session, RUNNING, lease_s=-1), job_in(session, RUNNING), job_in(session, QUEUED)
    session.get(Job, expired).dispatched_at = utcnow()
    assert states.requeue_lost(session, max_attempts=3) == [expired]
    assert [session.get(Job, job_id).status for job_id in (expired, alive, queued)] == [QUEUED, RUNNING, QUEUED]
    lost = session.get(Job, expired)
    assert (lost.worker, lost.lease_expires_at, lost.dispatched_at, lost.error) == (None, None, None, None)
    assert states.claim(session, expired, "w2", lease_s=60).attempts == 2
    assert states.requeue_lost(session, max_attempts=3) == []


def test_a_job_that_lost_its_worker_max_attempts_times_fails_saying_what_to_change(session: Session):
    job_id = job_in(session, QUEUED)
    for attempt in (1, 2, 3):
        states.claim(session, job_id, f"w{attempt}", lease_s=60)
        JobLease(session, job_id, f"w{attempt}").save_checkpoint(attempt, b"state")
        expire(session, job_id)
        requeued = states.requeue_lost(session, max_attempts=3)
        assert requeued == ([job_id] if attempt < 3 else [])
    job = session.get(Job, job_id)
    assert (job.status, job.attempts, job.lease_expires_at) == (FAILED, 3, None) and job.finished_at is not None
    assert job.error == (
        "the job lost its worker 3 times (the process died: out of memory or a crash?); "
        "make the model or batch smaller, or raise BNLAB_MAX_ATTEMPTS"
    )
    assert session.scalars(select(Checkpoint).where(Checkpoint.job_id == job_id)).all() == []
    assert states.requeue_lost(session, max_attempts=3) == []


def test_the_cap_applies_per_job_and_only_to_expired_leases(session: Session):
    young, old, alive = (
        job_in(session, RUNNING, lease_s=-1),
        job_in(session, RUNNING, lease_s=-1),
        job_in(session, RUNNING),
    )
    session.get(Job, old).attempts = session.get(Job, alive).attempts = 5
    session.flush()
    assert states.requeue_lost(session, max_attempts=2) == [young]
    statuses = [session.get(Job, job_id).status for job_id in (young, old, alive)]
    assert statuses == [QUEUED, FAILED, RUNNING]
    assert session.get(Job, old).error.startswith("the job lost its worker 5 times")


@pytest.fixture
def committed(engine: Engine) -> Iterator[tuple[SessionFactory, str]]:
    """Sessions that really commit (to see other connections race), and an owner whose jobs are deleted after."""
    factory, owner = make_session_factory(engine), f"race-{uuid.uuid4()}"
    yield factory, owner
    with session_scope(factory) as session:
        session.execute(delete(Job).where(Job.owner == owner))


def test_of_two_concurrent_claims_exactly_one_wins(committed: tuple[SessionFactory, str]):
    factory, owner = committed
    with session_scope(factory) as session:
        job_id = JobRepository(session).create(owner, JobSpec()).id
    start, outcomes = threading.Barrier(2), []

    def claim(worker: str) -> None:
        start.wait()
        try:
            with session_scope(factory) as session:
                outcomes.append(states.claim(session, job_id, worker, lease_s=60).worker)
        except TransitionError as error:
            outcomes.append(error.status)

    threads = [threading.Thread(target=claim, args=(worker,)) for worker in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) in (["running", "w1"], ["running", "w2"])
    with session_scope(factory) as session:
        assert session.get(Job, job_id).attempts == 1


@pytest.mark.parametrize(
    "action",
    [
        lambda s, job_id, worker: states.hold(s, job_id, worker),
        lambda s, job_id, worker: states.heartbeat(s, job_id, worker, progress=0.5, lease_s=60),
        lambda s, job_id, worker: states.succeed(s, job_id, worker, {"final_test_acc": 0.9}),
        lambda s, job_id, worker: states.fail(s, job_id, worker, "boom"),
        lambda s, job_id, worker: states.cancel(s, job_id, worker),
        lambda s, job_id, worker: states.hand_back(s, job_id, worker),
    ],
    ids=["hold", "heartbeat", "succeed", "fail", "cancel", "hand_back"],
)
def test_only_the_holding_worker_may_report_on_a_running_job(session: Session, action):
    job_id = job_in(session, RUNNING)  # claimed by "w1"
    before = row(session, job_id)
    with pytest.raises(TransitionError):
        action(session, job_id, "a stalled worker whose lease ran out")
    assert row(session, job_id) == before
    assert action(session, job_id, "w1").id == job_id
