"""A cell of the report: its runs counted by outcome, each numeric field over seeds, its curves, its comparison.

Only finished, non-diverged runs enter the aggregates; curves include diverged runs up to where they stopped.
"""

from collections import Counter
from typing import Any

from analysis.results import CellResult, JobResult, SectionInfo
from analysis.runs import counted, diverged, failed_to_learn, finished, numeric_fields, values
from analysis.stats import compare, number, summarize


def counts(jobs: list[JobResult]) -> dict[str, int]:
    """How many runs are in each status."""
    return dict(Counter(job.status for job in jobs))


def summary(cell: CellResult) -> dict[str, dict[str, Any]]:
    """Every numeric field (and the generalization gap) over the counted runs; a field no run has is absent."""
    runs = counted(cell)
    return {field: summarize(values(runs, field)) for field in numeric_fields(runs) if values(runs, field)}


def curve(series: list[tuple[list[int], list[float]]]) -> dict[str, list[Any]]:
    """The mean over runs at every step any run logged, with its 95% t-band and n; non-finite points are dropped."""
    at: dict[int, list[float]] = {}
    for steps, points in series:
        for step, point in zip(steps, points, strict=True):
            if (found := number(point)) is not None:
                at.setdefault(int(step), []).append(found)
    stats = [summarize(at[step]) for step in sorted(at)]
    return {
        "steps": sorted(at),
        "mean": [s["mean"] for s in stats],
        "low": [s["ci_low"] for s in stats],
        "high": [s["ci_high"] for s in stats],
        "n": [s["n"] for s in stats],
    }


def curves(cell: CellResult) -> dict[str, dict[str, list[Any]]]:
    """Every metric some finished run logged, averaged over the finished runs (diverged ones up to their stop)."""
    runs = finished(cell)
    metrics = dict.fromkeys(metric for job in runs for metric in job.series)
    return {metric: curve([job.series[metric] for job in runs if metric in job.series]) for metric in metrics}


def is_baseline(cell: CellResult, section: SectionInfo) -> bool:
    """A baseline cell takes the baseline's values on the baseline's axes."""
    return all(cell.values.get(path) == value for path, value in section.baseline.items())


def baseline_for(cell: CellResult, section: SectionInfo, cells: list[CellResult]) -> CellResult | None:
    """The section's cell with the baseline's values on its axes and this cell's values on every other axis."""
    wanted = {**cell.values, **section.baseline}
    return next((other for other in cells if other.section == cell.section and other.values == wanted), None)


def comparison(cell: CellResult, baseline: CellResult) -> dict[str, Any]:
    """Each field both cells have: the difference of means with its Welch interval, and the ratio of means."""
    mine, theirs = counted(cell), counted(baseline)
    fields = [field for field in numeric_fields(mine) if field in numeric_fields(theirs)]
    compared = {field: compare(values(mine, field), values(theirs, field)) for field in fields}
    return {"baseline": dict(baseline.values), "fields": {k: v for k, v in compared.items() if v is not None}}


def cell_report(cell: CellResult, section: SectionInfo | None, cells: list[CellResult]) -> dict[str, Any]:
    """The report's entry for one cell."""
    runs = finished(cell)
    baseline = None if section is None or is_baseline(cell, section) else baseline_for(cell, section, cells)
    return {
        "section": cell.section,
        "values": dict(cell.values),
        "job_ids": [job.job_id for job in cell.jobs],
        "counts": counts(cell.jobs),
        "n": len(counted(cell)),
        "diverged": sum(diverged(job) for job in runs),
        "failed_to_learn": sum(failed_to_learn(job) and not diverged(job) for job in runs),
        "summary": summary(cell),
        "comparison": None if baseline is None else comparison(cell, baseline),
        "curves": curves(cell),
    }
