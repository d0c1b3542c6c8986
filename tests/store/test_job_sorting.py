"""The job list in every sort: pages walked to the end give exactly the Python-sorted order, ties broken by id,
with filters, on both backends; a cursor continues only the sort it was made for."""

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import JOB_SORTS, InvalidCursor, Job, JobRepository, states
from store.timestamps import utcnow

MakeJob = Callable[..., Job]
LRS = [0.1, 0.5, 1e-05, 0.1 + 0.2, 0.5]  # 0.1 + 0.2 is 0.30000000000000004: a cursor must keep every digit


@pytest.fixture
def made(session: Session, make_job: MakeJob) -> list[Job]:
    """Fourteen jobs of alice with many ties in every sortable column, and one of bob."""
    jobs = [
        make_job(
            name=f"run-{'abcab'[index % 5]}",
            tags=["even"] if index % 2 == 0 else [],
            optimizer={"lr": LRS[index % 5]},
            training={"batch_size": (32, 64)[index % 2], "seed": index % 3},
        )
        for index in range(14)
    ]
    make_job("bob", name="run-a")
    for job in jobs[:4]:
        states.claim(session, job.id, "w1", lease_s=60)
    states.request_cancel(session, jobs[5].id)
    now = utcnow()
    for index, job in enumerate(jobs):  # three jobs share each microsecond; progress has ties too
        moment = now - timedelta(microseconds=index // 3)
        session.execute(update(Job).where(Job.id == job.id).values(created_at=moment, progress=(index % 3) / 4))
    session.expire_all()
    return list(session.scalars(select(Job).where(Job.owner == "alice")))


def walk(session: Session, sort: str, limit: int, **filters: object) -> list[Job]:
    """Every page of alice's listing in `sort`, followed by its cursors to the last one (a cursor that led back
    would go round for ever: more pages than alice has jobs fail instead)."""
    jobs, seen, cursor = JobRepository(session), [], None
    for _ in range(16):
        page = jobs.list("alice", sort=sort, limit=limit, cursor=cursor, **filters)
        assert len(page.jobs) == limit or page.next_cursor is None
        seen += page.jobs
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError(f"more pages than jobs: the cursors of {sort} go round ({len(seen)} jobs seen)")


def expected(jobs: list[Job], sort: str) -> list[uuid.UUID]:
    """The order the sort promises: the key, then the id, both in the sort's direction."""
    key = sort.removeprefix("-")
    ordered = sorted(jobs, key=lambda job: (getattr(job, key), job.id), reverse=sort.startswith("-"))
    return [job.id for job in ordered]


@pytest.mark.parametrize("limit", [1, 3, 50])
@pytest.mark.parametrize("sort", JOB_SORTS)
def test_every_page_walked_is_the_sorted_order_with_each_job_once(session: Session, made: list[Job], sort, limit):
    seen = [job.id for job in walk(session, sort, limit)]
    assert seen == expected(made, sort)
    assert len(set(seen)) == len(made) == 14


@pytest.mark.parametrize(
    ("sort", "filters"),
    [("-lr", {"status": "queued"}), ("name", {"tag": "even"}), ("seed", {"status": "running", "tag": "even"})],
)
def test_filters_and_a_sort_together(session: Session, made: list[Job], sort: str, filters: dict):
    kept = [job for job in made if all(_matches(job, field, value) for field, value in filters.items())]
    assert [job.id for job in walk(session, sort, 2, **filters)] == expected(kept, sort)
    assert 0 < len(kept) < len(made)


def _matches(job: Job, field: str, value: str) -> bool:
    """Whether a filter keeps the job (a tag filter looks in the spec's tags)."""
    return value in job.spec["tags"] if field == "tag" else getattr(job, field) == value


@pytest.mark.parametrize(("made_for", "used_with"), [("lr", "-lr"), ("-created_at", "created_at"), ("name", "seed")])
def test_a_cursor_continues_only_the_sort_it_was_made_for(session: Session, made: list[Job], made_for, used_with):
    cursor = JobRepository(session).list("alice", sort=made_for, limit=2).next_cursor
    with pytest.raises(InvalidCursor, match=f"another sort than {used_with}"):
        JobRepository(session).list("alice", sort=used_with, cursor=cursor)


def test_an_unknown_sort_is_a_mistake_of_the_caller(session: Session):
    with pytest.raises(ValueError, match="sort must be one of created_at, -created_at"):
        JobRepository(session).list("alice", sort="colour")
