"""A study's results read from the store into the analysis' plain dataclasses: one query for jobs, one for series."""

from sqlalchemy.orm import Session

from analysis.results import CellResult, JobResult, SectionInfo, StudyResult
from store import MetricRepository, Study, StudyRepository

REPORT_POINTS = 200  # per series: curves on a report's plots need no more
SCALAR_CURVES = ("train_loss", "train_acc", "val_acc", "val_loss", "test_acc", "test_loss")
PERCENTILES = ("p15", "p50", "p85")


def reported(name: str) -> bool:
    """The series a report draws: losses and accuracies, activation percentiles, internal covariate shift."""
    if name in SCALAR_CURVES or name.startswith("ics/"):
        return True
    return name.startswith("act/") and name.rsplit("/", 1)[-1] in PERCENTILES


def study_result(session: Session, study: Study) -> StudyResult:
    """Every job of the study with its summary and its reported series, grouped by cell."""
    jobs = StudyRepository(session).jobs(study.id)
    metrics = MetricRepository(session)
    job_ids = [job.id for job in jobs]
    names = [name for name in metrics.names_of(job_ids) if reported(name)]
    series = metrics.series_of(job_ids, names, max_points=REPORT_POINTS) if names else {}
    cells = [CellResult(cell["section"], cell["values"], []) for cell in study.cells]
    for job in jobs:
        points = series.get(job.id, {})
        curves = {name: ([step for step, _ in pairs], [value for _, value in pairs]) for name, pairs in points.items()}
        cells[job.study_cell].jobs.append(JobResult(str(job.id), job.seed, job.status, job.summary, curves))
    sections = [SectionInfo(s["name"], s["base"], s["grid"], s["baseline"]) for s in study.sections]
    return StudyResult(str(study.id), study.name, study.preset, study.scale, sections, cells)
