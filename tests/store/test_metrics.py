"""Metric points replace on (job, name, step) and come back downsampled, first and last point kept."""

import math
from collections.abc import Callable
from itertools import pairwise

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import Checkpoint, CheckpointRepository, Job, MetricRepository, MetricRow

MakeJob = Callable[..., Job]


def test_upsert_replaces_a_point_at_the_same_step_and_never_duplicates(session: Session, make_job: MakeJob):
    metrics, job = MetricRepository(session), make_job()
    metrics.upsert(job.id, [("train_loss", 10, 1.0), ("test_acc", 10, 0.5), ("train_loss", 20, 0.8)])
    metrics.upsert(job.id, [("train_loss", 10, 0.9), ("train_loss", 30, 0.7), ("train_loss", 30, 0.6)])
    metrics.upsert(job.id, [])
    assert session.scalar(select(func.count()).select_from(MetricRow)) == 4
    assert metrics.series(job.id) == {"test_acc": [(10, 0.5)], "train_loss": [(10, 0.9), (20, 0.8), (30, 0.6)]}
    assert metrics.names(job.id) == ["test_acc", "train_loss"]


def test_non_finite_values_are_refused(session: Session, make_job: MakeJob):
    with pytest.raises(ValueError, match="finite"):
        MetricRepository(session).upsert(make_job().id, [("train_loss", 1, math.nan)])


def test_series_filters_by_name_and_step_range(session: Session, make_job: MakeJob):
    metrics, job, other = MetricRepository(session), make_job(), make_job()
    metrics.upsert(job.id, [(name, step, step / 10) for name in ("a", "b", "c") for step in range(10)])
    metrics.upsert(other.id, [("a", 3, 99.0)])
    series = metrics.series(job.id, names=["a", "c"], step_min=3, step_max=5)
    assert series == {"a": [(3, 0.3), (4, 0.4), (5, 0.5)], "c": [(3, 0.3), (4, 0.4), (5, 0.5)]}
    assert metrics.series(job.id, names=["missing"]) == {}


@pytest.mark.parametrize(
    ("points", "max_points"), [(100, 10), (100, 2), (11, 10), (10, 10), (3, 50), (1, 2), (997, 33)]
)
def test_downsampling_keeps_first_and_last_and_at_most_max_points(
    session: Session, make_job: MakeJob, points: int, max_points: int
):
    metrics, job = MetricRepository(session), make_job()
    metrics.upsert(job.id, [("train_loss", 5 * step, float(step)) for step in range(points)])
    metrics.upsert(job.id, [("test_acc", 0, 1.0)])
    steps = [step for step, _ in metrics.series(job.id, names=["train_loss"], max_points=max_points)["train_loss"]]
    assert len(steps) == min(points, max_points) and steps == sorted(set(steps))
    assert steps[0] == 0 and steps[-1] == 5 * (points - 1)
    gaps = {b - a for a, b in pairwise(steps)}
    assert not gaps or max(gaps) - min(gaps) <= 5  # evenly spaced, to within one point
    assert metrics.series(job.id, max_points=max_points)["test_acc"] == [(0, 1.0)]


def test_max_points_below_two_is_refused(session: Session, make_job: MakeJob):
    with pytest.raises(ValueError, match="at least 2"):
        MetricRepository(session).series(make_job().id, max_points=1)


def test_checkpoints_save_replaces_the_same_step_and_keeps_only_the_newest(session: Session, make_job: MakeJob):
    checkpoints, job, other = CheckpointRepository(session), make_job(), make_job()
    assert checkpoints.latest(job.id) is None
    checkpoints.save(job.id, 100, b"a-100")
    checkpoints.save(other.id, 100, b"other-100")
    checkpoints.save(job.id, 200, b"a-200")
    checkpoints.save(job.id, 200, b"b-200")
    latest = checkpoints.latest(job.id)
    assert (latest.step, latest.data) == (200, b"b-200")
    rows = session.execute(select(Checkpoint.job_id, Checkpoint.step, Checkpoint.data).order_by(Checkpoint.step))
    assert sorted(rows.all()) == sorted([(job.id, 200, b"b-200"), (other.id, 100, b"other-100")])
    checkpoints.delete([job.id])
    assert checkpoints.latest(job.id) is None and checkpoints.latest(other.id).data == b"other-100"
