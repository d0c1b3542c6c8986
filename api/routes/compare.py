"""Compare jobs: summaries side by side, the spec fields that differ, and the series aligned on steps."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Owner, Sessions, find_job
from api.params import CompareQuery
from api.routes.responses import AUTHENTICATED, ONE_JOB
from api.schemas import AlignedSeries, ComparedJob, CompareOut, SpecDifference
from store import MetricRepository, read_scope

router = APIRouter(prefix="/v1", tags=["jobs"], responses=AUTHENTICATED)


@router.get("/compare", summary="Compare jobs", responses=ONE_JOB)
def compare(owner: Owner, sessions: Sessions, query: Annotated[CompareQuery, Query()]) -> CompareOut:
    """2 to 10 of your jobs side by side.

    Their summaries, the spec fields that differ (with each job's value) and their series on one step
    axis (the metrics all of them have, or `names`); every list follows the order of `ids`.
    """
    with read_scope(sessions) as session:
        jobs = [find_job(session, owner, job_id) for job_id in query.ids]
        metrics = MetricRepository(session)
        names = query.names or sorted(set.intersection(*(set(metrics.names(job.id)) for job in jobs)))
        series = [metrics.series(job.id, names, max_points=query.max_points) for job in jobs]
    return CompareOut(
        jobs=[ComparedJob(id=job.id, name=job.name, status=job.status, summary=job.summary) for job in jobs],
        spec_differences=spec_differences([job.spec for job in jobs]),
        series={name: align([one.get(name, []) for one in series]) for name in names},
    )


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Nested objects as dotted paths (`model.norm_options.eps`); lists stay whole values."""
    if not isinstance(value, dict) or not value:
        return {path: value}
    children = (flatten(child, f"{path}.{key}" if path else key) for key, child in value.items())
    return {leaf: item for flat in children for leaf, item in flat.items()}


def spec_differences(specs: list[dict[str, Any]]) -> list[SpecDifference]:
    """The fields whose values are not all equal, in the order they first appear."""
    flats = [flatten(spec) for spec in specs]
    fields = dict.fromkeys(path for flat in flats for path in flat)
    rows = [SpecDifference(field=field, values=[flat.get(field) for flat in flats]) for field in fields]
    return [row for row in rows if any(value != row.values[0] for value in row.values)]


def align(series: list[list[tuple[int, float]]]) -> AlignedSeries:
    """Several series on the union of their steps, None where one has no point."""
    steps = sorted({step for points in series for step, _ in points})
    by_step = [dict(points) for points in series]
    return AlignedSeries(steps=steps, values=[[values.get(step) for step in steps] for values in by_step])
