"""What the API answers: response models documented field by field, and the one error shape."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from store import Job, JobStatus, Series


class ErrorDetail(BaseModel):
    """One problem at one place of the request."""

    field: str = Field(description="where: a path such as body.training.steps, query.limit or path.job_id")
    message: str = Field(description="what is wrong there and what to send instead")


class ErrorBody(BaseModel):
    """What went wrong, for programs (code) and for people (message)."""

    code: str = Field(description="stable machine-readable kind, e.g. validation_error, not_found, unauthorized")
    message: str = Field(description="what is wrong and what to change")
    details: list[ErrorDetail] = Field(default_factory=list, description="one entry per invalid field, if any")


class Error(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorBody = Field(description="the error")


class JobOut(BaseModel):
    """A job as its owner sees it."""

    id: UUID = Field(description="the job's id")
    name: str = Field(description="the spec's name")
    tags: list[str] = Field(description="the spec's tags")
    status: JobStatus = Field(description="queued -> running -> succeeded | failed | cancelled")
    spec: dict[str, Any] = Field(description="the submitted job spec with every default filled in")
    progress: float = Field(ge=0, le=1, description="fraction of the training steps done")
    summary: dict[str, Any] | None = Field(
        description="how it ended: final/best test and validation accuracy, final train accuracy (eval mode), "
        "steps_to_target, wall and CPU time, diverged, failed_to_learn, params (docs/engine.md); null until it ends"
    )
    error: str | None = Field(description="why the job failed; null unless it failed")
    attempts: int = Field(description="how many times a worker started it (more than 1 after a worker was lost)")
    cancel_requested: bool = Field(description="a cancel was requested while it ran; the worker stops at its next step")
    study_id: UUID | None = Field(description="the study the job belongs to, if any")
    created_at: datetime = Field(description="when it was submitted (UTC)")
    started_at: datetime | None = Field(description="when a worker last started it (UTC)")
    finished_at: datetime | None = Field(description="when it ended (UTC)")

    @classmethod
    def of(cls, job: Job) -> "JobOut":
        """The row's columns, with the tags read from its spec (the tag rows exist for filtering only)."""
        columns = {name: getattr(job, name) for name in cls.model_fields if name != "tags"}
        return cls(tags=job.spec.get("tags", []), **columns)


class JobPage(BaseModel):
    """One page of a listing, in the order asked for."""

    items: list[JobOut] = Field(description="the jobs of this page")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class MetricsOut(BaseModel):
    """Metric series of one job."""

    job_id: UUID = Field(description="the job's id")
    series: Series = Field(description="by metric name, the [step, value] points in step order")


class ComparedJob(BaseModel):
    """The summary of one compared job."""

    id: UUID = Field(description="the job's id")
    name: str = Field(description="the spec's name")
    status: JobStatus = Field(description="the job's status")
    summary: dict[str, Any] | None = Field(description="the job's summary; null until it ends")


class SpecDifference(BaseModel):
    """One spec field on which the compared jobs disagree."""

    field: str = Field(description="dotted path into the spec, e.g. model.norm")
    values: list[Any] = Field(description="each job's value, in the order of `jobs` (null where a spec lacks it)")


class AlignedSeries(BaseModel):
    """One metric of every compared job, on a common step axis."""

    steps: list[int] = Field(description="every step at which any of the jobs has a point, ascending")
    values: list[list[float | None]] = Field(
        description="per job (in the order of `jobs`) the value at each step, null where that job has none"
    )


class CompareOut(BaseModel):
    """Jobs side by side: summaries, what their specs change, and their series aligned on steps."""

    jobs: list[ComparedJob] = Field(description="the compared jobs, in the order asked for")
    spec_differences: list[SpecDifference] = Field(description="the spec fields whose values differ between jobs")
    series: dict[str, AlignedSeries] = Field(description="by metric name, every job's values aligned on steps")


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"] = Field(description="always ok")


class Readiness(BaseModel):
    """The process can serve: its database and broker answer."""

    status: Literal["ok"] = Field(description="ok when every check passed (otherwise a 503 error lists the failures)")
    checks: dict[str, Literal["ok"]] = Field(description="each dependency checked: database, broker")
