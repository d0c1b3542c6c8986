"""Studies: create (a grid or a preset), list, get with progress per cell, cancel, delete; tenancy as for jobs."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Body, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import AppSettings, Owner, Sessions
from api.errors import ApiError, invalid_fields
from api.limits import admit, check_study_size, check_threads
from api.routes.responses import AUTHENTICATED, SUBMISSIONS, errors
from api.schemas import ErrorDetail
from api.study_schemas import StudyBrief, StudyOut, StudyPage
from contracts.presets import preset_plan
from contracts.study import GridStudy, StudyInvalid, StudyPlan, StudyRequest, grid_plan
from store import QuotaRepository, Study, StudyRepository, read_scope, session_scope

router = APIRouter(prefix="/v1/studies", tags=["studies"], responses=AUTHENTICATED)
StudyId = Annotated[UUID, Path(description="the study's id, as returned when it was created")]
ONE_STUDY = errors({404: "no such study of yours (another tenant's study answers the same)"})

StudyBody = Annotated[
    StudyRequest,
    Body(
        description="A grid study (`base`, `grid`, `seeds`) or a preset (`preset`, `scale`).",
        openapi_examples={
            "grid": {
                "summary": "BN on and off at three learning rates, three seeds each",
                "value": GridStudy.model_config["json_schema_extra"]["examples"][0],
            },
            "claims": {"summary": "the seven claims about batch norm", "value": {"preset": "claims", "scale": 1.0}},
            "paper-fig1": {"summary": "Figure 1 of Ioffe & Szegedy 2015", "value": {"preset": "paper-fig1"}},
        },
    ),
]


class StudyListQuery(BaseModel):
    """Which page of your studies."""

    model_config = {"extra": "forbid"}

    limit: int = Field(50, ge=1, le=200, description="studies per page")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page; omit for the first")


def study_not_found(study_id: UUID) -> ApiError:
    """Someone else's study and a missing one answer alike."""
    return ApiError(404, "not_found", f"study {study_id} not found: check the id (GET /v1/studies lists your studies)")


def planned(body: StudyRequest) -> StudyPlan:
    """Every job spec of the study, validated; a 422 naming the cell and the field of the first invalid one."""
    try:
        return grid_plan(body) if isinstance(body, GridStudy) else preset_plan(body)
    except StudyInvalid as error:
        where = f" (cell {error.cell})" if error.cell is not None else ""
        field = error.field if error.field.startswith(("grid", "baseline")) else f"base.{error.field}".rstrip(".")
        details = [ErrorDetail(field=f"body.{field}", message=f"{error.message}{where}")]
        raise invalid_fields(details, code="invalid_study") from None


def owned_study(session: Session, owner: str, study_id: UUID) -> Study:
    """The caller's study, or a 404."""
    study = StudyRepository(session).get(owner, study_id)
    if study is None:
        raise study_not_found(study_id)
    return study


@router.post("", status_code=201, summary="Create a study", responses={**SUBMISSIONS})
def create_study(
    body: StudyBody, owner: Owner, sessions: Sessions, settings: AppSettings, request: Request, tasks: BackgroundTasks
) -> StudyOut:
    """Create every job of the study (one per cell and seed) in one transaction, or none.

    Each generated spec is validated first: an invalid one rejects the whole study with a 422 naming the cell and
    the field. The jobs count against your limits like single submissions (429 when they do not fit now; 422 when
    the study is larger than the limits themselves), and at most 500 jobs make one study.
    """
    plan = planned(body)
    for cell in plan.cells:
        for spec in cell.specs:
            check_threads(spec, settings)
    check_study_size(plan.jobs, settings)
    with session_scope(sessions) as session:
        admit(QuotaRepository(session), owner, settings, count=plan.jobs)
        studies = StudyRepository(session)
        study = studies.create(owner, plan, body.model_dump(mode="json"))
        created = StudyOut.with_jobs(study, studies.jobs(study.id))
    tasks.add_task(request.app.state.dispatcher.dispatch_coalesced, owner)
    return created


@router.get("", summary="List your studies")
def list_studies(owner: Owner, sessions: Sessions, query: Annotated[StudyListQuery, Query()]) -> StudyPage:
    """Your studies, newest first, with their progress; pass `next_cursor` back as `cursor` for the next page."""
    with read_scope(sessions) as session:
        studies = StudyRepository(session)
        page = studies.list(owner, query.limit, query.cursor)
        counts = studies.counts([study.id for study in page.studies])
        items = [StudyBrief.of(study, counts[study.id]) for study in page.studies]
        return StudyPage(items=items, next_cursor=page.next_cursor)


@router.get("/{study_id}", summary="Get a study", responses=ONE_STUDY)
def get_study(study_id: StudyId, owner: Owner, sessions: Sessions) -> StudyOut:
    """The study, its sections and every cell with its jobs and their counts by status."""
    with read_scope(sessions) as session:
        study = owned_study(session, owner, study_id)
        return StudyOut.with_jobs(study, StudyRepository(session).jobs(study.id))


@router.post("/{study_id}/cancel", summary="Cancel a study", responses=ONE_STUDY)
def cancel_study(
    study_id: StudyId, owner: Owner, sessions: Sessions, request: Request, tasks: BackgroundTasks
) -> StudyOut:
    """Queued jobs are cancelled at once, running ones stop at their next step; finished ones stay as they are."""
    with session_scope(sessions) as session:
        studies = StudyRepository(session)
        study = studies.cancel(owner, study_id)
        if study is None:
            raise study_not_found(study_id)
        cancelled = StudyOut.with_jobs(study, studies.jobs(study.id))
    tasks.add_task(request.app.state.dispatcher.dispatch_coalesced, owner)
    return cancelled


@router.delete(
    "/{study_id}",
    status_code=204,
    summary="Delete a finished study",
    responses={**ONE_STUDY, **errors({409: "some of its jobs have not finished: cancel it and wait"})},
)
def delete_study(study_id: StudyId, owner: Owner, sessions: Sessions) -> None:
    """Delete a study whose jobs have all finished, with its jobs and their metrics."""
    with session_scope(sessions) as session:
        if not StudyRepository(session).delete(owner, study_id):
            raise study_not_found(study_id)
