"""What the API accepts besides the job spec: query parameters and headers, each bounded and documented.

Bounds here are what the database can store (PostgreSQL refuses NUL in text and 32-bit columns refuse
larger numbers): a value outside them must be a 422 that names it, never a database error.
"""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from contracts.spec import DatasetSpec, ModelSpec, NormKind
from store import DEFAULT_JOB_SORT, JOB_SORTS, MAX_CURSOR_LENGTH, JobStatus

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
MAX_STEP = 2**31 - 1  # metric steps are 32-bit integers in the database
MAX_POINTS = 100_000

Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
Arch = ModelSpec.model_fields["arch"].annotation  # the spec's own list of values, so the filters cannot drift
Dataset = DatasetSpec.model_fields["name"].annotation
JobSort = Literal[JOB_SORTS]  # the store's own list, so that the documented values are the ones it can sort by


def split_commas(value: object) -> object:
    """Accept `ids=a,b` as well as `ids=a&ids=b` (a query list arrives as the list of each occurrence)."""
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    return value


def each_once(values: list[UUID]) -> list[UUID]:
    """A job listed twice is a mistake in the request, not a comparison."""
    repeated = sorted({str(value) for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"list each job once; repeated: {', '.join(repeated)}")
    return values


MetricNames = Annotated[list[Label], BeforeValidator(split_commas)]
JobIds = Annotated[list[UUID], BeforeValidator(split_commas), AfterValidator(each_once)]
IdempotencyKey = Annotated[
    str | None,
    StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE),
    Field(description="a key of your choice: resending the same body with the same key returns the same job"),
]


class _Query(BaseModel):
    """Unknown query parameters are mistakes (a typo would silently filter nothing), so they are rejected."""

    model_config = ConfigDict(extra="forbid")


class JobFilters(_Query):
    """Which of your jobs to list, in which order, and which page."""

    status: JobStatus | None = Field(None, description="only jobs in this status")
    tag: Annotated[str, StringConstraints(max_length=64, pattern=PRINTABLE)] | None = Field(
        None, description="only jobs with this tag"
    )
    norm: NormKind | None = Field(None, description="only jobs with this model.norm")
    arch: Arch | None = Field(None, description="only jobs with this model.arch")
    dataset: Dataset | None = Field(None, description="only jobs on this dataset.name")
    study_id: UUID | None = Field(None, description="only jobs of this study")
    sort: JobSort = Field(
        DEFAULT_JOB_SORT,
        description="the order: created_at, name, status (alphabetical), lr, batch_size, seed or progress, ascending; "
        "with a leading - descending (-lr: the largest learning rate first). Ties are broken by the job id in the "
        "same direction, so pages never repeat or skip a job",
    )
    limit: int = Field(50, ge=1, le=200, description="jobs per page")
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR_LENGTH,
        description="next_cursor of the previous page, sent with the same sort; omit for the first",
    )


class SeriesQuery(_Query):
    """Which metric points of a job to return."""

    names: MetricNames | None = Field(None, description="metric names, comma-separated (default: every series)")
    step_min: int | None = Field(None, ge=0, le=MAX_STEP, description="only points at this step or later")
    step_max: int | None = Field(None, ge=0, le=MAX_STEP, description="only points at this step or earlier")
    max_points: int | None = Field(
        None, ge=2, le=MAX_POINTS, description="at most this many evenly spaced points per series, first and last kept"
    )


class CompareQuery(_Query):
    """Which jobs and metrics to compare."""

    ids: JobIds = Field(min_length=2, max_length=10, description="2 to 10 of your job ids, comma-separated")
    names: MetricNames | None = Field(
        None, description="metric names, comma-separated (default: the names every compared job has)"
    )
    max_points: int | None = Field(None, ge=2, le=MAX_POINTS, description="downsample each job's series to this many")
