"""Which runs count for what, and a run's value of a field: the one place the aggregation and the claims agree on."""

from collections.abc import Iterable
from typing import Any

from analysis.results import CellResult, JobResult, StudyResult
from analysis.stats import number

ACTIVE = ("queued", "running")
GAP = "generalization_gap"


def finished(cell: CellResult) -> list[JobResult]:
    """Runs that succeeded with a summary: diverged and failed-to-learn ones too (they are outcomes, not errors)."""
    return [job for job in cell.jobs if job.status == "succeeded" and job.summary is not None]


def diverged(job: JobResult) -> bool:
    """The engine stopped the run on a non-finite loss or gradient."""
    return bool((job.summary or {}).get("diverged"))


def failed_to_learn(job: JobResult) -> bool:
    """Finite, but no better than chance."""
    return bool((job.summary or {}).get("failed_to_learn"))


def counted(cell: CellResult) -> list[JobResult]:
    """The runs that enter the summary aggregates: finished and not diverged."""
    return [job for job in finished(cell) if not diverged(job)]


def value(job: JobResult, field: str) -> float | None:
    """A summary field as a finite number, or the derived generalization gap (final train - final test accuracy)."""
    summary = job.summary or {}
    if field == GAP:
        train, test = number(summary.get("final_train_acc")), number(summary.get("final_test_acc"))
        return None if train is None or test is None else train - test
    return number(summary.get(field))


def values(jobs: Iterable[JobResult], field: str) -> list[float]:
    """The field's values over the runs that have it."""
    return [x for x in (value(job, field) for job in jobs) if x is not None]


def numeric_fields(jobs: Iterable[JobResult]) -> list[str]:
    """The summary fields some run has a number for, in first-seen order, then the gap when it can be computed."""
    jobs = list(jobs)
    fields = list(dict.fromkeys(key for job in jobs for key, x in (job.summary or {}).items() if number(x) is not None))
    return fields + ([GAP] if values(jobs, GAP) else [])


def section_cells(result: StudyResult, section: str) -> list[CellResult]:
    """The cells of one section, in study order."""
    return [cell for cell in result.cells if cell.section == section]


def find_cell(cells: Iterable[CellResult], wanted: dict[str, Any]) -> CellResult | None:
    """The first cell whose grid values include these."""
    return next((cell for cell in cells if all(cell.values.get(p) == x for p, x in wanted.items())), None)
