"""What the study routes answer: a study with its cells and progress, a page of studies, the report."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from store import Job, JobStatus, Study, study_status

STUDY_COLUMNS = ("id", "name", "preset", "scale", "seeds", "cancel_requested", "created_at")


class CellOut(BaseModel):
    """One combination of grid values and how far its jobs (one per seed) are."""

    section: str = Field(description="the section of the study the cell belongs to (`grid` for a grid study)")
    values: dict[str, Any] = Field(description="the cell's grid values by dotted spec path")
    job_ids: list[UUID] = Field(description="the cell's jobs, one per seed, in seed order")
    counts: dict[str, int] = Field(description="the cell's jobs per status")


class StudyBrief(BaseModel):
    """A study as listed: what it is and how far it is."""

    id: UUID = Field(description="the study's id")
    name: str = Field(description="the study's name")
    status: JobStatus = Field(description="queued until a job starts, running while any is active, then how they ended")
    preset: str | None = Field(description="the preset it was made from (claims, paper-fig1), null for a grid study")
    scale: float | None = Field(description="the preset's scale, null for a grid study")
    seeds: list[int] = Field(description="each cell is trained once per seed")
    jobs: int = Field(description="how many jobs the study has")
    counts: dict[str, int] = Field(description="the study's jobs per status")
    cancel_requested: bool = Field(description="the study was cancelled")
    created_at: datetime = Field(description="when it was created (UTC)")

    @classmethod
    def of(cls, study: Study, counts: dict[str, int], **more: Any) -> "StudyBrief":
        """The row's columns, its counts, and the status they add up to."""
        columns = {name: getattr(study, name) for name in STUDY_COLUMNS}
        status = study_status(counts, study.cancel_requested)
        return cls(**columns, status=status, jobs=sum(counts.values()), counts=counts, **more)


class StudyOut(StudyBrief):
    """A study with its request, its sections and its cells' progress."""

    request: dict[str, Any] = Field(description="the body it was created from")
    sections: list[dict[str, Any]] = Field(description="each section's base spec, grid and baseline cell values")
    cells: list[CellOut] = Field(description="every cell, in grid order (first axis slowest)")

    @classmethod
    def with_jobs(cls, study: Study, jobs: list[Job]) -> "StudyOut":
        """The study, its cells filled from its jobs (read in one query)."""
        cells = [CellOut(**cell, job_ids=[], counts={}) for cell in study.cells]
        counts: dict[str, int] = {}
        for job in jobs:
            cell = cells[job.study_cell]
            cell.job_ids.append(job.id)
            cell.counts[job.status] = cell.counts.get(job.status, 0) + 1
            counts[job.status] = counts.get(job.status, 0) + 1
        return cls.of(study, counts, request=study.request, sections=study.sections, cells=cells)


class StudyPage(BaseModel):
    """One page of studies, newest first."""

    items: list[StudyBrief] = Field(description="the studies of this page")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class StudyReport(BaseModel):
    """The aggregated report; docs/studies.md describes every key."""

    model_config = ConfigDict(extra="allow")

    study_id: UUID = Field(description="the study's id")
    partial: bool = Field(description="some jobs have not finished: the numbers will still change")
    cells: list[dict[str, Any]] = Field(
        description="per cell: values, n, diverged, failed_to_learn, summary aggregates (mean, std, n, ci_low, "
        "ci_high), the comparison with its baseline cell, mean curves with a 95% band"
    )
    claims: list[dict[str, Any]] = Field(
        description="presets only: each claim's verdict (supported, not_supported, inconclusive), rule and evidence"
    )
    plots: list[dict[str, Any]] = Field(description="every plot of the report: name, title, png and svg URLs")
