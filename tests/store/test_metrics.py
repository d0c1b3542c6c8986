"""Metric points replace on (job, name, step) and come back downsampled, first and last point kept."""

import math
import random
from collections.abc import Callable
from itertools import pairwise

import pytest
from sqlalchemy import event, func, select
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


def test_a_large_batch_round_trips_exactly_and_replaces(session: Session, make_job: MakeJob):
    metrics, job = MetricRepository(session), make_job()
    names = ["train_loss", "act/0/p15", "é—名前", "n" * 200]
    values = [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, -1e-300, 123456789.123456789]
    first = [(name, step, values[step % len(values)]) for name in names for step in range(1250)]
    metrics.upsert(job.id, first)
    replaced = [(name, step, -float(step)) for name in names[:2] for step in (0, 1249, 2**31 - 1)]
    metrics.upsert(job.id, replaced)
    expected = {name: {step: value for other, step, value in first + replaced if other == name} for name in names}
    assert {name: dict(points) for name, points in metrics.series(job.id).items()} == expected


def test_a_batch_is_one_statement_whatever_its_size(session: Session, make_job: MakeJob):
    metrics, job = MetricRepository(session), make_job()
    statements: list[tuple[str, bool]] = []

    def record(_connection, _cursor, statement, _parameters, _context, executemany):
        if "metric_points" in statement:
            statements.append((statement, executemany))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        metrics.upsert(job.id, [("train_loss", step, 1.0) for step in range(1000)])
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert len(statements) == 1
    if connection.dialect.name == "postgresql":  # one INSERT .. SELECT FROM unnest, not a pipeline of 1000
        assert statements[0][1] is False and "unnest" in statements[0][0]


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


def kept_indexes(count: int, keep: int) -> list[int]:
    """The reference rule: every index of a short series, else ceil(k * (count - 1) / (keep - 1)) for each k."""
    if count <= keep:
        return list(range(count))
    return [-(-k * (count - 1) // (keep - 1)) for k in range(keep)]


@pytest.mark.parametrize("keep", [2, 3, 7, 50, 1000])
def test_downsampling_keeps_exactly_the_reference_points_of_each_series_in_range(
    session: Session, make_job: MakeJob, keep: int
):
    metrics, jobs = MetricRepository(session), [make_job(), make_job()]
    rng = random.Random(keep)
    stored = {}
    for job in jobs:
        for name, count in (("a", 1), ("b", 40), ("c", 1200)):
            steps = sorted(rng.sample(range(5000), count))  # irregular gaps: indexes, not steps, are spaced
            points = [(name, step, rng.random()) for step in steps]
            metrics.upsert(job.id, points)
            stored[job.id, name] = [(step, value) for _, step, value in points]
    series = metrics.series_of([job.id for job in jobs], names=["b", "c"], step_min=100, step_max=4900, max_points=keep)
    for job in jobs:
        for name in ("b", "c"):
            in_range = [point for point in stored[job.id, name] if 100 <= point[0] <= 4900]
            assert series[job.id][name] == [in_range[index] for index in kept_indexes(len(in_range), keep)]
        assert "a" not in series[job.id]


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
