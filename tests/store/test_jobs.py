"""Jobs: created idempotently, seen only by their owner, listed by filters and cursor, deleted when finished."""

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from store import (
    Checkpoint,
    CheckpointRepository,
    IdempotencyConflict,
    InvalidCursor,
    Job,
    JobNotFinished,
    JobRepository,
    JobTag,
    MetricRepository,
    MetricRow,
    TransitionError,
    states,
)
from store.timestamps import utcnow

MakeJob = Callable[..., Job]


def test_create_queues_the_spec_and_copies_the_fields_users_filter_on(session: Session):
    spec = JobSpec.model_validate(CANONICAL_EXAMPLE | {"tags": ["fig1", "bn", "fig1"]})
    job = JobRepository(session).create("alice", spec)
    assert (job.status, job.owner, job.name, job.attempts, job.progress) == ("queued", "alice", "fig1-sigmoid-bn", 0, 0)
    assert (job.norm, job.arch, job.dataset, job.lr, job.batch_size, job.seed) == (
        "batchnorm",
        "mlp",
        "mnist1d",
        0.5,
        60,
        0,
    )
    assert JobSpec.model_validate(job.spec) == spec
    assert set(session.scalars(select(JobTag.tag).where(JobTag.job_id == job.id))) == {"fig1", "bn"}


def test_the_same_idempotency_key_and_request_return_the_first_job(session: Session):
    jobs = JobRepository(session)
    first = jobs.create("alice", JobSpec(), idempotency_key="k1")
    assert jobs.create("alice", JobSpec(), idempotency_key="k1").id == first.id
    assert jobs.create("bob", JobSpec(), idempotency_key="k1").id != first.id  # keys are per owner
    assert jobs.create("alice", JobSpec()).id != first.id
    assert session.scalar(select(func.count()).select_from(Job)) == 3


def test_the_same_idempotency_key_with_another_request_is_refused(session: Session):
    jobs = JobRepository(session)
    jobs.create("alice", JobSpec(), idempotency_key="k1")
    with pytest.raises(IdempotencyConflict, match="k1"):
        jobs.create("alice", JobSpec(name="other"), idempotency_key="k1")
    with pytest.raises(IdempotencyConflict):
        jobs.create("alice", JobSpec(), idempotency_key="k1", request_hash="0" * 64)
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_another_owners_job_is_not_found(session: Session, make_job: MakeJob):
    jobs, job = JobRepository(session), make_job("alice")
    states.cancel(session, job.id)
    assert jobs.get("bob", job.id) is None and jobs.get("alice", job.id).id == job.id
    assert jobs.list("bob").jobs == [] and jobs.request_cancel("bob", job.id) is None
    assert jobs.delete("bob", job.id) is False and jobs.get("alice", job.id) is not None
    running = make_job("alice")
    states.claim(session, running.id, "w1", lease_s=60)
    assert jobs.request_cancel("bob", running.id) is None and not jobs.get("alice", running.id).cancel_requested


def test_request_cancel_cancels_queued_flags_running_and_refuses_finished(session: Session, make_job: MakeJob):
    jobs, queued, running = JobRepository(session), make_job(), make_job()
    states.claim(session, running.id, "w1", lease_s=60)
    assert jobs.request_cancel("alice", queued.id).status == "cancelled"
    assert jobs.request_cancel("alice", running.id).cancel_requested
    with pytest.raises(TransitionError):
        jobs.request_cancel("alice", queued.id)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "running"}, ["b"]),
        ({"tag": "x"}, ["a", "c"]),
        ({"tag": "y"}, ["c"]),
        ({"norm": "none"}, ["b"]),
        ({"arch": "cnn"}, ["c"]),
        ({"dataset": "digits"}, ["c"]),
        ({"tag": "x", "norm": "batchnorm"}, ["a", "c"]),
        ({"tag": "x", "norm": "none"}, []),
    ],
)
def test_list_filters(session: Session, make_job: MakeJob, filters: dict, expected: list[str]):
    make_job(name="a", tags=["x"])
    states.claim(session, make_job(name="b", model={"norm": "none"}).id, "w1", lease_s=60)
    make_job(name="c", tags=["x", "y"], model={"arch": "cnn"}, dataset={"name": "digits"})
    make_job("bob", name="d", tags=["x"])
    assert sorted(job.name for job in JobRepository(session).list("alice", **filters).jobs) == expected


def test_list_filters_by_study(session: Session):
    jobs, study = JobRepository(session), uuid.uuid4()
    job = jobs.create("alice", JobSpec(), study_id=study)
    jobs.create("alice", JobSpec())
    assert [found.id for found in jobs.list("alice", study_id=study).jobs] == [job.id]


def test_cursor_pagination_visits_every_job_once_newest_first(session: Session, make_job: MakeJob):
    made = [make_job(name=str(i)) for i in range(7)]
    tie = utcnow()  # created in the same microsecond: the id breaks the tie
    session.execute(update(Job).where(Job.id.in_([job.id for job in made[2:5]])).values(created_at=tie))
    jobs, seen, cursor = JobRepository(session), [], None
    while True:
        page = jobs.list("alice", limit=3, cursor=cursor)
        seen += page.jobs
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(job.id for job in seen) == sorted(job.id for job in made) and len(seen) == 7
    assert seen == sorted(seen, key=lambda job: (job.created_at, job.id), reverse=True)


@pytest.mark.parametrize("cursor", ["", "garbage", "bm9wZQ==", "MjAyNi0wMS0wMXxub3QtYS11dWlk"])
def test_a_cursor_the_store_did_not_hand_out_is_refused(session: Session, cursor: str):
    with pytest.raises(InvalidCursor):
        JobRepository(session).list("alice", cursor=cursor)


def count(session: Session, model: type, job_id: uuid.UUID) -> int:
    """Rows of `model` that belong to the job."""
    return session.scalar(select(func.count()).select_from(model).where(model.job_id == job_id))


def test_deleting_a_finished_job_deletes_its_tags_metrics_and_checkpoints(session: Session, make_job: MakeJob):
    job, kept = make_job(tags=["x"]), make_job(tags=["x"])
    for job_id in (job.id, kept.id):
        states.claim(session, job_id, "w1", lease_s=60)
        MetricRepository(session).upsert(job_id, [("train_loss", 1, 0.5)])
        CheckpointRepository(session).record(job_id, 1, "/tmp/ckpt")
        states.succeed(session, job_id, {})
    assert JobRepository(session).delete("alice", job.id) is True
    session.expunge_all()
    assert session.get(Job, job.id) is None
    assert [count(session, model, job.id) for model in (JobTag, MetricRow, Checkpoint)] == [0, 0, 0]
    assert [count(session, model, kept.id) for model in (JobTag, MetricRow, Checkpoint)] == [1, 1, 1]


def test_deleting_an_unfinished_job_is_refused(session: Session, make_job: MakeJob):
    jobs, queued, running = JobRepository(session), make_job(), make_job()
    states.claim(session, running.id, "w1", lease_s=60)
    for job in (queued, running):
        with pytest.raises(JobNotFinished, match=job.status):
            jobs.delete("alice", job.id)
        assert jobs.get("alice", job.id) is not None
    assert jobs.delete("alice", uuid.uuid4()) is False
