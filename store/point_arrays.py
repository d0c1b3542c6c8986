"""Metric points in PostgreSQL through arrays: a batch written as one statement, a series downsampled without
numbering every point.

Writing: the generic upsert (store/upsert.py) sends a batch as an executemany, which psycopg pipelines as one
INSERT per point: about 12,000 points/s into a local server, most of it round trips and per-statement work. Here
the batch is one INSERT .. SELECT FROM unnest(names, steps, values) with the job id sent once, and `%b` has psycopg
send the arrays in PostgreSQL's binary format (no quoting of every element). It replaces on (job, name, step)
exactly as the generic one does (rule 5).

Reading: the generic downsampling numbers every point of a series with two window functions (row_number and a
count that spills a 100,000-point series to disk) and then filters; here each series' steps are gathered into one
array, the kept indexes are computed from its length, and only the kept points' values are looked up in the
primary key. Both keep the same points: indexes ceil(k * (count - 1) / (keep - 1)) for k = 0 .. keep - 1
(store/repositories/metrics.py), every point of a series no longer than `keep`.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import Row
from sqlalchemy.orm import Session

UPSERT_POINTS = (
    "INSERT INTO metric_points (job_id, name, step, value) "
    "SELECT %(job_id)s, name, step, value "
    "FROM unnest(%(names)b::varchar[], %(steps)b::integer[], %(values)b::float8[]) AS points (name, step, value) "
    "ON CONFLICT (job_id, name, step) DO UPDATE SET value = excluded.value"
)

DOWNSAMPLED = """
WITH series AS (
    SELECT job_id, name, array_agg(step ORDER BY step) AS steps FROM metric_points
    WHERE {criteria} GROUP BY job_id, name
), kept AS (
    SELECT job_id, name, steps[1 + CASE WHEN cardinality(steps) <= %(keep)s THEN k
                                   ELSE (k * (cardinality(steps) - 1) + %(keep)s - 2) / (%(keep)s - 1) END] AS step
    FROM series, generate_series(0, LEAST(cardinality(steps), %(keep)s) - 1) AS k
)
SELECT job_id, name, step, (
    SELECT value FROM metric_points AS point
    WHERE point.job_id = kept.job_id AND point.name = kept.name AND point.step = kept.step
) FROM kept ORDER BY job_id, name, step
"""
CRITERIA = {"names": "name = ANY(%(names)s)", "step_min": "step >= %(step_min)s", "step_max": "step <= %(step_max)s"}


def upsert_points(session: Session, job_id: uuid.UUID, points: dict[tuple[str, int], float]) -> None:
    """Write points keyed by (name, step), each key once, in one statement of the session's transaction."""
    if not points:
        return
    names, steps = zip(*points, strict=True)
    parameters = {"job_id": job_id, "names": list(names), "steps": list(steps), "values": list(points.values())}
    session.connection().exec_driver_sql(UPSERT_POINTS, parameters)


def downsampled_points(
    session: Session,
    job_ids: Sequence[uuid.UUID],
    names: Sequence[str] | None,
    step_min: int | None,
    step_max: int | None,
    keep: int,
) -> Sequence[Row]:
    """(job_id, name, step, value) of at most `keep` points per series, in job, name and step order."""
    given = {"names": list(names) if names is not None else None, "step_min": step_min, "step_max": step_max}
    given = {name: value for name, value in given.items() if value is not None}
    criteria = " AND ".join(["job_id = ANY(%(job_ids)s)", *(CRITERIA[name] for name in given)])
    parameters = {"job_ids": list(job_ids), "keep": keep, **given}
    return session.connection().exec_driver_sql(DOWNSAMPLED.format(criteria=criteria), parameters).all()
