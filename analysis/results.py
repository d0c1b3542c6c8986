"""A study's results as the analysis reads them: plain data the API fills from the store, so nothing here needs SQL."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobResult:
    """One run: its status, the engine's summary (None until it finished) and its downsampled series."""

    job_id: str
    seed: int
    status: str  # queued | running | succeeded | failed | cancelled
    summary: dict[str, Any] | None
    series: dict[str, tuple[list[int], list[float]]]  # metric name -> (steps, values)


@dataclass(frozen=True)
class CellResult:
    """One combination of grid values and its runs, one per seed."""

    section: str
    values: dict[str, Any]  # the cell's grid values, e.g. {"model.norm": "none", "optimizer.lr": 0.1}
    jobs: list[JobResult]


@dataclass(frozen=True)
class SectionInfo:
    """A section of the study: its base spec, its grid and the grid values of its baseline cells."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    baseline: dict[str, Any]


@dataclass(frozen=True)
class StudyResult:
    """Everything the report is computed from."""

    study_id: str
    name: str
    preset: str | None  # "claims", "paper-fig1" or None for a user's grid study
    scale: float | None
    sections: list[SectionInfo]
    cells: list[CellResult]
