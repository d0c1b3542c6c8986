"""Studies in the store: created with their jobs, counted, listed, cancelled and deleted per owner."""

import pytest
from sqlalchemy import func, select

from contracts.study import GridStudy, grid_plan
from store import Job, JobStatus, MetricRepository, MetricRow, StudyNotFinished, StudyRepository, states, study_status

WORKER = "worker-1"


def plan(**grid):
    """A small grid study over the given axes, two seeds."""
    return grid_plan(GridStudy(name="s", base={"training": {"steps": 10}}, grid=grid, seeds=[0, 1]))


def test_a_study_is_created_with_one_job_per_cell_and_seed(session):
    studies = StudyRepository(session)
    study = studies.create("alice", plan(**{"model.norm": ["none", "batchnorm"]}), {"name": "s"})
    jobs = studies.jobs(study.id)
    assert [(job.study_cell, job.seed, job.norm) for job in jobs] == [
        (0, 0, "none"),
        (0, 1, "none"),
        (1, 0, "batchnorm"),
        (1, 1, "batchnorm"),
    ]
    assert study.cells == [
        {"section": "grid", "values": {"model.norm": "none"}},
        {"section": "grid", "values": {"model.norm": "batchnorm"}},
    ]
    assert study.sections[0]["baseline"] == {"model.norm": "none"}
    assert studies.counts([study.id]) == {study.id: {"queued": 4}}


def test_another_owner_sees_no_study(session):
    studies = StudyRepository(session)
    study = studies.create("alice", plan(**{"optimizer.lr": [0.1]}), {})
    assert studies.get("bob", study.id) is None
    assert studies.cancel("bob", study.id) is None
    assert studies.delete("bob", study.id) is False
    assert studies.list("bob").studies == []


def test_listing_pages_newest_first(session):
    studies = StudyRepository(session)
    made = [studies.create("alice", plan(**{"optimizer.lr": [0.1]}), {}) for _ in range(3)]
    first = studies.list("alice", limit=2)
    second = studies.list("alice", limit=2, cursor=first.next_cursor)
    listed = [study.id for study in first.studies + second.studies]
    assert sorted(listed) == sorted(study.id for study in made) and second.next_cursor is None


def test_cancel_withdraws_queued_jobs_and_flags_running_ones(session):
    studies = StudyRepository(session)
    study = studies.create("alice", plan(**{"optimizer.lr": [0.1]}), {})
    running, queued = studies.jobs(study.id)
    states.claim(session, running.id, WORKER, 60)
    studies.cancel("alice", study.id)
    session.expire_all()
    assert session.get(Job, queued.id).status == JobStatus.CANCELLED
    assert session.get(Job, running.id).cancel_requested
    with pytest.raises(StudyNotFinished, match="1 jobs queued or running"):
        studies.delete("alice", study.id)
    states.cancel(session, running.id, WORKER)
    counts = studies.counts([study.id])[study.id]
    assert study_status(counts, True) == "cancelled"


def test_delete_removes_the_jobs_and_their_metrics(session):
    studies = StudyRepository(session)
    study = studies.create("alice", plan(**{"optimizer.lr": [0.1]}), {})
    for job in studies.jobs(study.id):
        states.claim(session, job.id, WORKER, 60)
        MetricRepository(session).upsert(job.id, [("train_loss", 1, 0.5)])
        states.succeed(session, job.id, WORKER, {"final_test_acc": 0.5})
    assert studies.delete("alice", study.id)
    assert session.scalar(select(func.count()).select_from(Job).where(Job.study_id == study.id)) == 0
    assert session.scalar(select(func.count()).select_from(MetricRow)) == 0
    assert studies.get("alice", study.id) is None


@pytest.mark.parametrize(
    ("counts", "cancelled", "status"),
    [
        ({"queued": 2}, False, "queued"),
        ({"queued": 1, "succeeded": 1}, False, "running"),
        ({"running": 1}, False, "running"),
        ({"succeeded": 2}, False, "succeeded"),
        ({"succeeded": 1, "failed": 1}, False, "failed"),
        ({"succeeded": 1, "cancelled": 1}, False, "cancelled"),
        ({"succeeded": 2}, True, "cancelled"),
    ],
)
def test_a_study_status_adds_up_its_jobs(counts, cancelled, status):
    assert study_status(counts, cancelled) == status


def test_series_of_many_jobs_come_back_by_job_and_downsampled(session):
    metrics = MetricRepository(session)
    study = StudyRepository(session).create("alice", plan(**{"optimizer.lr": [0.1]}), {})
    a, b = (job.id for job in StudyRepository(session).jobs(study.id))
    metrics.upsert(a, [("test_acc", step, step / 10) for step in range(10)])
    metrics.upsert(b, [("test_acc", 1, 0.1), ("train_loss", 1, 2.0)])
    series = metrics.series_of([a, b], ["test_acc"], max_points=3)
    assert series[a]["test_acc"] == [(0, 0.0), (5, 0.5), (9, 0.9)]
    assert series[b] == {"test_acc": [(1, 0.1)]}
    assert metrics.names_of([a, b]) == ["test_acc", "train_loss"]
