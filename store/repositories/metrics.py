"""Metric series: written in batches that replace on (job, name, step), read back downsampled on the server."""

import math
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Select, case, delete, func, select
from sqlalchemy.orm import Session

from store.models import MetricRow
from store.point_arrays import downsampled_points, upsert_points
from store.upsert import upsert

Series = dict[str, list[tuple[int, float]]]


class MetricRepository:
    """The metric points of jobs."""

    def __init__(self, session: Session):
        self.session = session

    def upsert(self, job_id: uuid.UUID, points: Iterable[tuple[str, int, float]]) -> None:
        """Write a batch in one statement; a point already stored at (name, step) takes the new value (rule 5)."""
        latest = {(name, step): value for name, step, value in points}  # PostgreSQL refuses one key twice
        bad = [key for key, value in latest.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"metric values must be finite; not at (name, step) {bad[:3]}")
        if self.session.get_bind().dialect.name == "postgresql":  # one statement, not one per point
            upsert_points(self.session, job_id, latest)
            return
        rows = [
            {"job_id": job_id, "name": name, "step": step, "value": value} for (name, step), value in latest.items()
        ]
        upsert(self.session, MetricRow, rows, keys=["job_id", "name", "step"], update=["value"])

    def delete_of(self, job_ids: Select[tuple[uuid.UUID]] | Sequence[uuid.UUID]) -> None:
        """The points of jobs about to be deleted: no foreign key cascades them (store/models.py, MetricRow)."""
        self.session.execute(delete(MetricRow).where(MetricRow.job_id.in_(job_ids)))

    def names(self, job_id: uuid.UUID) -> list[str]:
        """The series a job has, sorted."""
        return self.names_of([job_id])

    def series(
        self,
        job_id: uuid.UUID,
        names: Sequence[str] | None = None,
        step_min: int | None = None,
        step_max: int | None = None,
        max_points: int | None = None,
    ) -> Series:
        """Points by series name in step order, at most `max_points` per series (first and last always kept)."""
        by_job = self.series_of([job_id], names, step_min, step_max, max_points)
        return by_job.get(job_id, {})

    def names_of(self, job_ids: Sequence[uuid.UUID]) -> list[str]:
        """The series any of the jobs has, sorted."""
        query = select(MetricRow.name).where(MetricRow.job_id.in_(job_ids)).distinct().order_by(MetricRow.name)
        return list(self.session.scalars(query))

    def series_of(
        self,
        job_ids: Sequence[uuid.UUID],
        names: Sequence[str] | None = None,
        step_min: int | None = None,
        step_max: int | None = None,
        max_points: int | None = None,
    ) -> dict[uuid.UUID, Series]:
        """`series` for many jobs in one query (a study's report), keyed by job; a job without points is absent."""
        if max_points is not None and max_points < 2:
            raise ValueError("max_points must be at least 2 (the first and the last point are always kept)")
        if max_points is not None and self.session.get_bind().dialect.name == "postgresql":
            rows = downsampled_points(self.session, job_ids, names, step_min, step_max, max_points)
        else:
            rows = self.session.execute(_points(_criteria(job_ids, names, step_min, step_max), max_points))
        by_job: dict[uuid.UUID, Series] = {}
        for job_id, name, step, value in rows:
            by_job.setdefault(job_id, {}).setdefault(name, []).append((step, value))
        return by_job


def _criteria(
    job_ids: Sequence[uuid.UUID], names: Sequence[str] | None, step_min: int | None, step_max: int | None
) -> list[ColumnElement[bool]]:
    """The points asked for: some jobs', of some series or all, within a step range or not."""
    criteria = [MetricRow.job_id.in_(job_ids)]
    if names is not None:
        criteria.append(MetricRow.name.in_(names))
    if step_min is not None:
        criteria.append(MetricRow.step >= step_min)
    if step_max is not None:
        criteria.append(MetricRow.step <= step_max)
    return criteria


def _points(criteria: list[ColumnElement[bool]], max_points: int | None) -> Select:
    """The points asked for in job, name and step order; with `max_points`, numbered in their series by window
    functions, so that SQL can downsample them (PostgreSQL does it without numbering them: store/point_arrays.py)."""
    columns = (MetricRow.job_id, MetricRow.name, MetricRow.step, MetricRow.value)
    if max_points is None:
        return select(*columns).where(*criteria).order_by(MetricRow.job_id, MetricRow.name, MetricRow.step)
    series = (MetricRow.job_id, MetricRow.name)
    ranked = (
        select(
            *columns,
            (func.row_number().over(partition_by=series, order_by=MetricRow.step) - 1).label("index"),
            func.count().over(partition_by=series).label("count"),
        )
        .where(*criteria)
        .subquery()
    )
    kept = _evenly_spaced(ranked.c.index, ranked.c.count, max_points)
    return (
        select(ranked.c.job_id, ranked.c.name, ranked.c.step, ranked.c.value)
        .where(kept)
        .order_by(ranked.c.job_id, ranked.c.name, ranked.c.step)
    )


def _evenly_spaced(index: ColumnElement[int], count: ColumnElement[int], keep: int) -> ColumnElement[bool]:
    """Whether point `index` of `count` is one of `keep` evenly spaced ones, first and last included.

    Kept are the indexes ceil(k * (count - 1) / (keep - 1)) for k = 0 .. keep - 1, that is the
    indexes i where floor(i * (keep - 1) / (count - 1)) moves up, that is where
    (i * (keep - 1)) mod (count - 1) < keep - 1: integer arithmetic that runs the same everywhere.
    """
    return case((count <= keep, True), else_=(index * (keep - 1)) % (count - 1) < keep - 1)
