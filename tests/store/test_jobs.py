"""Jobs: created idempotently, seen only by their owner, listed by filters and cursor, deleted when finished."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from contracts.study import GridStudy, grid_plan
from store import (
    JOB_SORTS,
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
    QuotaRepository,
    StudyRepository,
    TransitionError,
    states,
)
from store.timestamps import utcnow
from tests.store.cursors import crafted_cursor

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


def test_only_a_submission_with_an_idempotency_key_takes_a_savepoint(session: Session):
    jobs, statements = JobRepository(session), []
    connection = session.connection()
    record = lambda *args: statements.append(args[2].split()[0].upper())  # noqa: E731 (the statement's verb)
    event.listen(connection, "before_cursor_execute", record)
    try:
        jobs.create("alice", JobSpec(tags=["a", "b"]))
        session.flush()  # the tag rows wait for the next flush
        plain, statements[:] = list(statements), []
        jobs.create("alice", JobSpec(), idempotency_key="k1")
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert plain == ["INSERT", "INSERT"]  # the job, then its tags: nothing can collide without a key
    assert statements[0] == "SAVEPOINT" and "RELEASE" in statements


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
    states.request_cancel(session, job.id)
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
    plan = grid_plan(GridStudy(grid={"optimizer.lr": [0.1]}))
    study = StudyRepository(session).create("alice", plan, {})
    jobs = JobRepository(session)
    jobs.create("alice", JobSpec())
    (job,) = StudyRepository(session).jobs(study.id)
    assert [found.id for found in jobs.list("alice", study_id=study.id).jobs] == [job.id]
    assert jobs.list("alice", study_id=uuid.uuid4()).jobs == []


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


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage",
        "bm9wZQ==",
        "MjAyNi0wMS0wMXxub3QtYS11dWlk",  # the old format, 2026-01-01|not-a-uuid
        crafted_cursor("-created_at", "2026-01-01T00:00:00+00:00", "not-a-uuid"),
        crafted_cursor("-created_at", "2026-01-01T00:00:00+00:00", 1),
        crafted_cursor("-created_at", 20260101, str(uuid.UUID(int=1))),
        crafted_cursor("-created_at", "2026-01-01T00:00:00+00:00", str(uuid.UUID(int=1)))[:-4],
        crafted_cursor("-created_at", "2026-01-01T00:00:00+00:00", str(uuid.UUID(int=1))) + "[]",
    ],
)
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
        states.succeed(session, job_id, "w1", {})
        CheckpointRepository(session).save(job_id, 1, b"state")  # after the finish, which drops checkpoints
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


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "2026-01-01T00:00:00"], ids=str
)
def test_a_cursor_whose_time_has_no_utc_position_is_refused(session: Session, moment: str):
    with pytest.raises(InvalidCursor):
        JobRepository(session).list("alice", cursor=crafted_cursor("-created_at", moment, str(uuid.UUID(int=1))))


def test_a_cursor_time_at_any_offset_is_the_same_moment_in_utc(session: Session, make_job: MakeJob):
    older, newer = make_job(name="older"), make_job(name="newer")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    session.execute(update(Job).where(Job.id == older.id).values(created_at=moment - timedelta(microseconds=1)))
    session.execute(update(Job).where(Job.id == newer.id).values(created_at=moment))
    for written in ("2026-01-01T00:00:00+00:00", "2026-01-01T05:00:00+05:00", "2025-12-31T19:00:00-05:00"):
        page = JobRepository(session).list("alice", cursor=crafted_cursor("-created_at", written, str(newer.id)))
        assert [job.name for job in page.jobs] == ["older"], written


ANY_TEXT = st.lists(st.characters(codec=None, exclude_categories=()), max_size=80).map("".join)  # surrogates too
MOMENTS = st.datetimes(
    timezones=st.none() | st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23)).map(timezone)
)
# Any JSON a cursor could hold as its value: times at any offset, NaN, huge integers, booleans, lone surrogates.
VALUES = MOMENTS.map(datetime.isoformat) | st.floats() | st.integers() | st.booleans() | st.none() | ANY_TEXT
IDS = st.uuids().map(str) | ANY_TEXT
SORTED_CURSORS = st.sampled_from(JOB_SORTS).flatmap(  # mostly cursors of the listing's own sort: read to the end
    lambda sort: st.tuples(st.just(sort), ANY_TEXT | st.builds(crafted_cursor, st.just(sort), VALUES, IDS))
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sorted_cursor=SORTED_CURSORS)
def test_any_cursor_is_a_page_or_invalid(session: Session, sorted_cursor: tuple[str, str]):
    sort, cursor = sorted_cursor
    try:
        page = JobRepository(session).list("nobody", sort=sort, cursor=cursor)
    except InvalidCursor:
        return
    assert page.jobs == []


def test_active_jobs_are_the_owners_queued_and_running_ones(session: Session, make_job: MakeJob):
    _, running, finished = make_job(), make_job(), make_job()
    make_job("bob")
    states.claim(session, running.id, "w1", lease_s=60)
    states.request_cancel(session, finished.id)
    assert QuotaRepository(session).usage("alice", limit=10, window_s=60).active == 2
    assert QuotaRepository(session).usage("carol", limit=10, window_s=60).active == 0


def test_a_full_window_frees_when_its_oldest_counted_submission_leaves_it(session: Session, make_job: MakeJob):
    now = utcnow()
    jobs = [make_job() for _ in range(3)]
    make_job("bob")
    for job, age in zip(jobs, (90, 40, 10), strict=True):  # the first lies outside the minute already
        session.execute(update(Job).where(Job.id == job.id).values(created_at=now - timedelta(seconds=age)))
    quotas = QuotaRepository(session)
    assert quotas.usage("alice", limit=3, window_s=60).window_full_until is None
    assert quotas.usage("alice", limit=2, window_s=60).window_full_until == now + timedelta(seconds=20)
    assert quotas.usage("alice", limit=1, window_s=60).window_full_until == now + timedelta(seconds=50)
    assert quotas.usage("bob", limit=2, window_s=60).window_full_until is None


@pytest.mark.parametrize("sort", ["batch_size", "-seed"])
def test_a_cursor_integer_beyond_the_columns_range_is_invalid(session: Session, sort: str):
    with pytest.raises(InvalidCursor):
        JobRepository(session).list("nobody", sort=sort, cursor=crafted_cursor(sort, 2**31, str(uuid.uuid4())))
